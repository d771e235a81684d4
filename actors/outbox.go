package actors

import (
	"time"

	"github.com/exo-actors/exo-actors/actors/streams"
)

// outbox collects the events a runner actor emits while it handles one
// batch of stdout frames (proc.Frames), so they reach their streams as one
// PublishBatch per topic run instead of one Publish message each. It lives in
// the slot while a batch is handled (slot.outbox, nil otherwise) so that
// every emit about the runner, including the ledger's (endTask, failTasks),
// goes through it in order. Only the ledger's owner touches it.
//
// Order: events reach each topic's stream in emit order (a run of one topic
// is one message; runs are sent in order). The host's hook gets them in
// emit order too, when the outbox is flushed, just before the streams: at
// the end of the batch, and before a task's handle ends (endTask flushes),
// so whoever Wait wakes finds the task's events delivered to the hook, as
// for events emitted outside a batch. The hook calls of a batch then run
// back to back, which halves the clock readings that time them
// (hookRunner.deliverBatch). The node's own observer (metrics, health
// history) still sees each event at emit.
type outbox struct {
	events []streams.Event
	topics []string  // topic of each event
	at     time.Time // the batch's clock reading: the At of its events
}

// add appends e for topic.
func (o *outbox) add(topic string, ev streams.Event) {
	o.events = append(o.events, ev)
	o.topics = append(o.topics, topic)
}

// beginBatch starts collecting sl's events; frames is the batch's size, so
// the events (about one per frame) fit without growing the slice. at is
// the batch's time: the stream events it collects carry it, one clock
// reading per batch instead of one per event.
func (n *nodeConfig) beginBatch(sl *slot, frames int, at time.Time) {
	if sl.outbox == nil {
		sl.outbox = &sl.box
	}
	sl.outbox.at = at
	if cap(sl.outbox.events) == 0 {
		if sl.spare == nil {
			sl.spare = make(chan []streams.Event, spareBatches)
		}
		c := frames + 1
		select {
		case evs := <-sl.spare:
			if cap(evs) >= c {
				sl.outbox.events, c = evs, 0
			} else {
				c = min(max(c, 2*cap(evs)), 2*c) // grow toward a flood's batches, at most twice this one
			}
		default:
		}
		if c > 0 {
			sl.outbox.events = make([]streams.Event, 0, c)
		}
	}
}

// endBatch publishes what sl collected and stops collecting. release (may be
// nil) is the stdout reader's credit for the batch: it rides on the last
// tasks-topic run, so the reader reads on only once the tasks stream has
// taken this batch's chunks (backpressure from the stream back to the pipe),
// or is called at once when the batch published nothing on that topic.
func (n *nodeConfig) endBatch(sl *slot, release func()) {
	n.flushOutbox(sl, release)
	sl.outbox = nil
}

// flushOutbox publishes what sl's outbox holds, in order, one PublishBatch
// per run of one topic, and keeps collecting. release as in endBatch.
func (n *nodeConfig) flushOutbox(sl *slot, release func()) {
	o := sl.outbox
	if o == nil || len(o.events) == 0 {
		if release != nil {
			release()
		}
		return
	}
	n.hook.deliverBatch(o.events) // the hook first, as outside a batch
	lastTasks := -1
	for i, t := range o.topics {
		if t == TopicTasks {
			lastTasks = i
		}
	}
	events, topics := o.events, o.topics
	o.events, o.topics = nil, o.topics[:0] // the streams own events now
	for start := 0; start < len(events); {
		end := start + 1
		for end < len(events) && topics[end] == topics[start] {
			end++
		}
		var done func()
		if lastTasks >= start && lastTasks < end {
			done = release
			if start == 0 && end == len(events) && release != nil && cap(events) >= recycleMin {
				done = recycleEvents(sl, events, release) // the whole batch is this run
			}
		}
		if s := n.streams[topics[start]]; s != nil {
			_ = s.PublishBatch(events[start:end:end], done) // calls done itself when it refuses
		} else if done != nil {
			done()
		}
		start = end
	}
	if lastTasks < 0 && release != nil {
		release()
	}
}

// recycleEvents wraps a batch's release so that the events slice, once the
// tasks stream has taken its events, goes back to sl for the next batch
// (slot.spare): a flooding runner then allocates no events slice per batch.
// The slice is cleared first, so it keeps no payload alive; at most
// spareBatches are kept, each of at most twice a batch's size.
func recycleEvents(sl *slot, events []streams.Event, release func()) func() {
	return func() {
		clear(events)
		select {
		case sl.spare <- events[:0]:
		default: // the free list is full: let this one go
		}
		release()
	}
}

// spareBatches bounds a runner's free list of events slices: the batches
// that can be on their way to the tasks stream at once (the reader's
// default window) and one more.
const spareBatches = 5

// recycleMin is the smallest events slice worth keeping: an idle runner's
// batches of a few frames are cheap to allocate, and keeping their slices
// would only add to every runner's memory.
const recycleMin = 32

// streamEvent builds the stream event of e.
func (n *nodeConfig) streamEvent(e Event) (string, streams.Event) {
	return n.streamEventAt(e, n.runnerClock.Now())
}

// streamEventAt is streamEvent at a given time.
func (n *nodeConfig) streamEventAt(e Event, at time.Time) (string, streams.Event) {
	topic, kind, taskID := topicOf(e)
	return topic, streams.Event{RunnerID: e.eventRunnerID(), TaskID: taskID, Kind: kind, At: at, Payload: e}
}

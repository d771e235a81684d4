package actors

import (
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
// is one message; runs are sent in order). Hooks are not delayed: emit calls
// the hook at once, as before.
type outbox struct {
	events []streams.Event
	topics []string // topic of each event
}

// add appends e for topic.
func (o *outbox) add(topic string, ev streams.Event) {
	o.events = append(o.events, ev)
	o.topics = append(o.topics, topic)
}

// beginBatch starts collecting sl's events; frames is the batch's size, so
// the events (about one per frame) fit without growing the slice.
func (n *nodeConfig) beginBatch(sl *slot, frames int) {
	if sl.outbox == nil {
		sl.outbox = &sl.box
	}
	if cap(sl.outbox.events) == 0 {
		sl.outbox.events = make([]streams.Event, 0, frames+1)
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

// streamEvent builds the stream event of e.
func (n *nodeConfig) streamEvent(e Event) (string, streams.Event) {
	topic, kind, taskID := topicOf(e)
	return topic, streams.Event{RunnerID: e.eventRunnerID(), TaskID: taskID, Kind: kind, At: n.runnerClock.Now(), Payload: e}
}

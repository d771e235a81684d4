package actors

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/streams"
)

// ForwardStats counts what the node could not forward: events its streams
// refused, and messages sent to actors that had stopped (protoactor dead
// letters). Each kind of failure is classified by the error handler
// (stream_closed, send_to_stopped; see docs/errors.md), at most one record
// per kind per RecordInterval; the rest are counted here only.
type ForwardStats struct {
	// Published counts events handed to their topic's stream.
	Published uint64
	// StreamClosed counts events refused because their stream was closed
	// or stopped (they come after CLOSING). Kind stream_closed.
	StreamClosed uint64
	// StreamNotSpawned counts events refused because their stream had no
	// actor (it could not be spawned). Kind stream_closed.
	StreamNotSpawned uint64
	// Unrouted counts events of a type that no topic carries (a bug; the
	// first is logged).
	Unrouted uint64
	// DeadLetters counts messages sent to an actor that had stopped (a pipe
	// goroutine's frame to a runner gone, a request to a stopped actor).
	// Kind send_to_stopped.
	DeadLetters uint64
	// LateReplies counts answers to requests whose caller had stopped
	// waiting (its future was gone): counted, not classified.
	LateReplies uint64
	// SystemDeadLetters counts protoactor system messages (Watch, Stop,
	// Terminated, ...) to stopped actors: expected while actors stop,
	// counted, not classified.
	SystemDeadLetters uint64
	// Records counts the error records made for the failures above;
	// Suppressed those only counted because a record of the same kind was
	// made less than RecordInterval before.
	Records, Suppressed uint64
	// ToDeparted counts messages to remote clients whose session had ended,
	// by a goodbye or their loss (late replies and events;
	// Node.ClientDeparted): expected, logged at debug, not classified.
	ToDeparted uint64
}

// RecordInterval is the least time between two error records (and log
// lines) of the same forwarding failure kind; the failures in between are
// counted, and the next record says how many there were.
const RecordInterval = time.Second

// forwarding counts and classifies forwarding failures for one node.
type forwarding struct {
	published, closed, notSpawned, unrouted     atomic.Uint64
	deadLetters, lateReplies, systemDeadLetters atomic.Uint64
	records, suppressed                         atomic.Uint64
	toDeparted                                  atomic.Uint64
	mu                                          sync.Mutex
	last                                        map[errhandler.Kind]*rateState // under mu
}

type rateState struct {
	at         time.Time // when the last record of this kind was made
	suppressed uint64    // failures counted since, without a record
}

func (f *forwarding) stats() ForwardStats {
	return ForwardStats{
		Published: f.published.Load(), StreamClosed: f.closed.Load(), StreamNotSpawned: f.notSpawned.Load(),
		Unrouted: f.unrouted.Load(), DeadLetters: f.deadLetters.Load(), LateReplies: f.lateReplies.Load(),
		SystemDeadLetters: f.systemDeadLetters.Load(), Records: f.records.Load(), Suppressed: f.suppressed.Load(),
		ToDeparted: f.toDeparted.Load(),
	}
}

// admit reports whether a failure of kind k may make a record now, and how
// many of that kind were suppressed since the last one.
func (f *forwarding) admit(k errhandler.Kind, now time.Time) (ok bool, suppressed uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.last == nil {
		f.last = map[errhandler.Kind]*rateState{}
	}
	st := f.last[k]
	if st == nil {
		st = &rateState{}
		f.last[k] = st
	} else if now.Sub(st.at) < RecordInterval {
		st.suppressed++
		f.suppressed.Add(1)
		return false, 0
	}
	suppressed, st.at, st.suppressed = st.suppressed, now, 0
	return true, suppressed
}

// classify makes an error record of a forwarding failure (rate-limited per
// kind) and logs it once with it.
func (n *nodeConfig) classifyForwarding(fl errhandler.Failure) {
	ok, suppressed := n.fwd.admit(fl.Kind, n.clock.Now())
	if !ok {
		return
	}
	if suppressed > 0 {
		fl.Message = strings.TrimPrefix(fl.Message+fmt.Sprintf("; %d more of this kind since the last record, counted only", suppressed), "; ")
	}
	fl.ShuttingDown = n.shuttingDown != nil && n.shuttingDown()
	rec := n.policy.Handle(fl)
	n.fwd.records.Add(1)
	level := logrus.WarnLevel
	if rec.Decision.Severity <= errhandler.Low {
		level = logrus.DebugLevel
	}
	n.logger.WithFields(logrus.Fields{"kind": string(fl.Kind), "decision": rec.Decision.String(), "record": rec.ID}).
		Log(level, fl.Error()+fmt.Sprintf(" (at most one record per %s; see ForwardStats)", RecordInterval))
}

// publish puts an event on its topic's stream. A refusal is counted and
// classified (stream_closed); an event no topic carries is counted and
// logged.
func (n *nodeConfig) publish(e Event) {
	topic, kind, taskID := topicOf(e)
	s := n.streams[topic]
	if s == nil {
		if n.fwd.unrouted.Add(1) == 1 { // the first only: ForwardStats counts the rest
			n.logger.WithField("event", fmt.Sprintf("%T", e)).Error("event of a type no topic carries: not published (a bug); ForwardStats.Unrouted counts any more")
		}
		return
	}
	err := s.Publish(streams.Event{RunnerID: e.eventRunnerID(), TaskID: taskID, Kind: kind, At: n.runnerClock.Now(), Payload: e})
	switch {
	case err == nil:
		n.fwd.published.Add(1)
		return
	case errors.Is(err, streams.ErrNotSpawned):
		n.fwd.notSpawned.Add(1)
	default:
		n.fwd.closed.Add(1)
	}
	// No RunnerID in the record: it is not a failure of that runner, and
	// must not count among its records; the message names it.
	n.classifyForwarding(errhandler.Failure{Kind: errhandler.KindStreamClosed, Component: "stream", Operation: "publish " + kind + " to " + topic,
		Message: "event of runner " + e.eventRunnerID(), Cause: err})
}

// onDeadLetter counts a protoactor dead letter and classifies the user
// messages among them as send_to_stopped. It runs on the goroutine that
// sent the message (protoactor's EventStream calls subscribers inline):
// it counts, and at most once per RecordInterval makes a record.
func (n *nodeConfig) onDeadLetter(evt any) {
	dl, ok := evt.(*actor.DeadLetterEvent)
	if !ok || dl.PID == nil {
		return
	}
	switch dl.Message.(type) {
	case actor.SystemMessage:
		n.fwd.systemDeadLetters.Add(1)
		return
	case *actor.DeadLetterResponse:
		n.fwd.lateReplies.Add(1) // a request ended on a stopped node; its future is gone
		return
	}
	if strings.HasPrefix(dl.PID.Id, "future$") {
		n.fwd.lateReplies.Add(1)
		return
	}
	if n.toDeparted(dl) { // departed.go
		return
	}
	n.fwd.deadLetters.Add(1)
	// The target's PID names the runner, if it is one; the record has no
	// RunnerID, so it never counts among that runner's own records.
	n.classifyForwarding(errhandler.Failure{Kind: errhandler.KindSendToStopped, Component: "actor",
		Operation: fmt.Sprintf("send %T to %s", dl.Message, dl.PID.Id)})
}

// ForwardStats returns the node's forwarding counters.
func (n *Node) ForwardStats() ForwardStats { return n.cfg.fwd.stats() }

package streams

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Topics of the node's event streams: one stream actor each.
const (
	// TopicRunnerStatus carries runner lifecycle events: process started
	// and exited, status changes, failures, stops.
	TopicRunnerStatus = "runner-status"
	// TopicTasks carries task events: status changes and generated chunks.
	TopicTasks = "tasks"
	// TopicErrors carries the error handler's records.
	TopicErrors = "errors"
	// TopicAlerts carries alerts: things that need a person.
	TopicAlerts = "alerts"
)

// Topics lists every topic a node runs a stream for, in a stable order.
func Topics() []string {
	return []string{TopicRunnerStatus, TopicTasks, TopicErrors, TopicAlerts}
}

// KindGap is the Kind of a Gap event. It is reserved: Publish refuses events
// of this kind, and filters never hide a Gap event.
const KindGap = "gap"

// Event is one entry of a stream. Publishers fill RunnerID, TaskID, Kind, At
// (optional) and Payload; the stream sets Stream and Seq.
type Event struct {
	// Stream is the topic of the stream that carried the event.
	Stream string
	// Seq is the event's sequence number in its stream: 1, 2, 3, ... with no
	// hole, assigned by the stream actor in the order it accepted the events.
	// A filtered subscription skips the numbers of the events its Filter
	// leaves out; a loss is always a Gap event, never a silent hole.
	// Gap events have Seq 0: they consume no sequence number.
	Seq uint64
	// RunnerID and TaskID say what the event is about (either may be empty);
	// Kind says what happened. Filters match on all three.
	RunnerID, TaskID, Kind string
	// At is when it happened; a zero At is set from the stream's clock when
	// the stream accepts the event.
	At time.Time
	// Payload is the event itself, opaque to the stream (package actors puts
	// its typed events here). The stream copies the Event value, never the
	// payload: treat a payload as immutable once published.
	Payload any
	// Gap is set on Gap events only (Kind KindGap).
	Gap *Gap
}

// IsGap reports whether e is a Gap event.
func (e *Event) IsGap() bool { return e.Gap != nil }

// Gap says that a slow subscriber lost events: its buffer was full, so the
// oldest events it had not yet received were dropped. A Gap event stands in
// the subscriber's order exactly where the dropped events were; consecutive
// drops coalesce into one Gap.
type Gap struct {
	// Dropped is how many events this subscriber lost here. With a filter it
	// can be less than ToSeq-FromSeq+1: only matching events were its own.
	Dropped uint64
	// FromSeq and ToSeq are the stream sequence numbers of the first and the
	// last dropped event.
	FromSeq, ToSeq uint64
}

// Filter selects the events a subscriber receives. A zero field matches
// everything; all set fields must match. Gap events are never filtered.
type Filter struct {
	RunnerID string
	TaskID   string
	// Kinds, when not empty, lists the kinds to receive.
	Kinds []string
}

// Match reports whether e passes the filter.
func (f *Filter) Match(e *Event) bool {
	if f.RunnerID != "" && f.RunnerID != e.RunnerID {
		return false
	}
	if f.TaskID != "" && f.TaskID != e.TaskID {
		return false
	}
	if len(f.Kinds) == 0 {
		return true
	}
	for _, k := range f.Kinds {
		if k == e.Kind {
			return true
		}
	}
	return false
}

// IsZero reports whether the filter matches every event.
func (f *Filter) IsZero() bool { return f.RunnerID == "" && f.TaskID == "" && len(f.Kinds) == 0 }

func (f Filter) clone() Filter {
	f.Kinds = slices.Clone(f.Kinds)
	return f
}

// Errors of this package; test them with errors.Is.
var (
	// ErrEndOfStream: the subscription received every event it will ever
	// receive. It wraps io.EOF, so errors.Is(err, io.EOF) holds too (its
	// text is "end of stream" alone, not "end of stream: EOF"). The error a
	// subscription returns wraps it and says why the stream ended.
	ErrEndOfStream error = &endOfStream{}
	// ErrStreamClosed: the stream was closed or stopped; a Publish refused
	// with it was counted as a dead letter.
	ErrStreamClosed = errors.New("stream closed")
	// ErrNotSpawned: the stream has no actor yet; a Publish refused with it
	// was counted as a dead letter.
	ErrNotSpawned = errors.New("stream actor not spawned")
	// ErrAlreadySpawned: Spawn was called twice for one Stream.
	ErrAlreadySpawned = errors.New("stream actor already spawned")
	// ErrReservedKind: an event of kind KindGap, or with Gap set, was
	// published; only the stream makes Gap events.
	ErrReservedKind = errors.New(`kind "gap" is reserved for the stream's own Gap events`)
)

// endOfStream is ErrEndOfStream's type: it unwraps to io.EOF without
// printing it, so "end of stream: node lost: …" reads without a stray EOF.
type endOfStream struct{}

func (*endOfStream) Error() string { return "end of stream" }
func (*endOfStream) Unwrap() error { return io.EOF }

// endReason builds the error a subscription ends with.
func endReason(topic, why string) error {
	return fmt.Errorf("%w: stream %q %s", ErrEndOfStream, topic, why)
}

package actors

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/exo-actors/exo-actors/actors/streams"
)

var (
	// ErrUnknownTopic: Subscribe named a topic the node has no stream of;
	// the text lists the topics.
	ErrUnknownTopic = errors.New("unknown topic")
	// ErrInvalidRequest: a request was malformed, e.g. a Subscribe whose
	// filter names a kind its topic never carries (the subscriber would
	// wait forever) or whose options are negative; the text says how.
	ErrInvalidRequest = errors.New("invalid request")
)

// publishedEvents holds one of each event type the node publishes: the
// kinds of a topic are read from them through topicOf, so the two cannot
// disagree.
var publishedEvents = []Event{&ProcessStarted{}, &StatusChanged{}, &ProcessExited{}, &RunnerFailed{}, &RunnerStopped{},
	&TaskStatusChanged{}, &TaskAcknowledged{}, &TaskChunk{}, &TaskRetried{}, &SupervisionDecision{}, &Alert{},
	&HealthAlert{}, &HealthChanged{}}

// TopicKinds returns the kinds of the events the node publishes on topic
// (nil for an unknown topic); a Gap event may come on any topic.
func TopicKinds(topic string) []string {
	var kinds []string
	for _, e := range publishedEvents {
		if t, k, _ := topicOf(e); t == topic {
			kinds = append(kinds, k)
		}
	}
	return kinds
}

// CheckSubscription returns nil for a subscription that can work: a known
// topic (else an error wrapping ErrUnknownTopic that lists them), a
// filter whose kinds the topic carries, and no negative Buffer or Window
// (else an error wrapping ErrInvalidRequest that says what to write).
// Before, a filter of "chunk" or of a kind of another topic was taken, and
// its subscriber waited for ever.
func CheckSubscription(topic string, f streams.Filter, o streams.SubscribeOptions) error {
	if !slices.Contains(streams.Topics(), topic) {
		return fmt.Errorf("%w %q: want one of %s", ErrUnknownTopic, topic, strings.Join(streams.Topics(), ", "))
	}
	kinds := TopicKinds(topic)
	for _, k := range f.Kinds {
		if k == streams.KindGap || slices.Contains(kinds, k) {
			continue
		}
		if other := kindTopic(k); other != "" {
			return fmt.Errorf("%w: filter kind %q comes on topic %q, never on %q, whose kinds are %s: subscribe to %q for it",
				ErrInvalidRequest, k, other, topic, strings.Join(kinds, ", "), other)
		}
		return fmt.Errorf("%w: filter kind %q: no event has that kind; topic %q carries %s", ErrInvalidRequest, k, topic, strings.Join(kinds, ", "))
	}
	if o.Buffer < 0 || o.Window < 0 {
		return fmt.Errorf("%w: subscription to %q with Buffer %d and Window %d: neither may be negative; 0 takes the default", ErrInvalidRequest, topic, o.Buffer, o.Window)
	}
	return nil
}

// kindTopic returns the topic that carries kind, or "".
func kindTopic(kind string) string {
	for _, e := range publishedEvents {
		if t, k, _ := topicOf(e); k == kind {
			return t
		}
	}
	return ""
}

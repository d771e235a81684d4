package actors_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/streams"
)

// TestTopicKindsHaveEveryKind: every event kind is carried by exactly one
// topic, so CheckSubscription takes every kind on its own topic (a kind
// added to the constants but not to publishedEvents would be refused).
func TestTopicKindsHaveEveryKind(t *testing.T) {
	all := []string{actors.KindProcessStarted, actors.KindStatusChanged, actors.KindProcessExited, actors.KindRunnerFailed,
		actors.KindRunnerStopped, actors.KindTaskStatus, actors.KindTaskAcknowledged, actors.KindTaskChunk, actors.KindTaskRetried,
		actors.KindSupervisionDecision, actors.KindAlert, actors.KindHealthAlert, actors.KindHealthChanged}
	var got []string
	for _, topic := range streams.Topics() {
		kinds := actors.TopicKinds(topic)
		if len(kinds) == 0 {
			t.Errorf("topic %q carries no kind", topic)
		}
		for _, k := range kinds {
			if err := actors.CheckSubscription(topic, streams.Filter{Kinds: []string{k, streams.KindGap}}, streams.SubscribeOptions{}); err != nil {
				t.Errorf("%s on %s: %v", k, topic, err)
			}
		}
		got = append(got, kinds...)
	}
	slices.Sort(got)
	slices.Sort(all)
	if !slices.Equal(got, all) {
		t.Errorf("kinds over all topics %v, want each of %v once", got, all)
	}
	if err := actors.CheckSubscription("tasks ", streams.Filter{}, streams.SubscribeOptions{}); !errors.Is(err, actors.ErrUnknownTopic) {
		t.Errorf("a topic with a space: %v", err)
	}
}

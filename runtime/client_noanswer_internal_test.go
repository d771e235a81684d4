package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestSubmitWithoutAnAnswerSaysTheTaskMayBeQueued: a Submit whose ctx ends
// after it was sent, before the node answered, says the task may be
// queued all the same and how to get its handle or end it (before: "did
// not answer: context deadline exceeded", and a host took the task for
// never submitted while it ran on the node).
func TestSubmitWithoutAnAnswerSaysTheTaskMayBeQueued(t *testing.T) {
	c, sent := hostileClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Submit(ctx, "echo-0123456789ab", Task{ID: "t1", Kind: "noop"})
	if _, ok := (<-sent).(*exov1.GwSubmit); !ok {
		t.Fatal("the Submit was not sent")
	}
	for _, want := range []string{"did not answer in time", `task "t1" may be queued on runner echo-0123456789ab`, "Submit it again with the same ID", "or Cancel it"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Submit without an answer: %v; want it to say %q", err, want)
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Submit without an answer: %v; want it to wrap context.DeadlineExceeded", err)
	}
}

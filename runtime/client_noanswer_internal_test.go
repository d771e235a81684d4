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

// TestCallWithAnEndedContextSendsNothing: a call whose context has ended
// before it begins sends nothing and says so, wrapping ctx.Err(). Before,
// a Submit and a StopRunner went out and acted on the node, and the error
// said the node "did not answer in time" (a new user's trial).
func TestCallWithAnEndedContextSendsNothing(t *testing.T) {
	c, sent := hostileClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, errSubmit := c.Submit(ctx, "echo-0123456789ab", Task{ID: "t1", Kind: "noop"})
	_, errStop := c.StopRunner(ctx, "echo-0123456789ab")
	_, errList := c.Runners(ctx)
	for _, err := range []error{errSubmit, errStop, errList} {
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "not sent: the caller's context had ended before the call") {
			t.Errorf("call with an ended context: %v; want it to say nothing was sent, wrapping context.Canceled", err)
		}
	}
	select {
	case m := <-sent:
		t.Fatalf("the client sent %T with an ended context", m)
	default:
	}
}

// TestStopRunnerWithoutAnAnswerSaysTheStopGoesOn: a StopRunner whose
// context ends after it was sent says the node goes on with the stop.
func TestStopRunnerWithoutAnAnswerSaysTheStopGoesOn(t *testing.T) {
	c, sent := hostileClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := c.StopRunner(ctx, "echo-0123456789ab")
	if _, ok := (<-sent).(*exov1.GwStopRunner); !ok {
		t.Fatal("the StopRunner was not sent")
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "the node goes on with the stop of echo-0123456789ab") {
		t.Errorf("StopRunner without an answer: %v; want it to say the stop goes on", err)
	}
}

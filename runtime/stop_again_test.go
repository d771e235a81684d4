package runtime_test

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestStopAfterARestartedFailure: a runner killed (generation 1),
// restarted (generation 2) and stopped cleanly had not failed when a
// second StopRunner comes: its result carries no Failure (a host's trial
// got generation 1's SIGKILL in it), and a Submit after the stop says the
// runner was stopped, not that it "is stopping".
func TestStopAfterARestartedFailure(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sys := newSystem(t, config())
	id, err := sys.SpawnRunner(ctx, fastRunner("again"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.WaitReady(ctx, id); err != nil {
		t.Fatal(err)
	}
	started, err := sys.Subscribe(exo.TopicRunnerStatus, exo.Filter{RunnerID: id, Kinds: []string{exo.KindProcessStarted}}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer started.Close()
	infos, err := sys.Runners(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range infos {
		if in.ID == id {
			if err := syscall.Kill(in.Pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
	}
	for { // generation 2's process
		ev, err := started.Next(ctx)
		if err != nil {
			t.Fatalf("runner %s not restarted after SIGKILL: %v", id, err)
		}
		if ps, ok := ev.Payload.(exo.ProcessStarted); ok && ps.Generation == 2 {
			break
		}
	}
	if err := sys.WaitReady(ctx, id); err != nil {
		t.Fatal(err)
	}
	first, err := sys.StopRunner(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if first.Generation != 2 || first.Failure != nil {
		t.Fatalf("first stop: generation %d, failure %v; want 2 and none", first.Generation, first.Failure)
	}
	// At once: the runner's actor may still be there, done.
	_, err = sys.Submit(ctx, id, exo.Task{ID: "after-stop", Kind: "text_generation"})
	if !errors.Is(err, exo.ErrRunnerNotAvailable) || strings.Contains(err.Error(), "is stopping") || !strings.Contains(err.Error(), "spawn a new runner") {
		t.Errorf("Submit after the stop returned: %v; want ErrRunnerNotAvailable saying it was stopped, spawn a new runner", err)
	} else if strings.Contains(err.Error(), "last error") {
		t.Errorf("Submit after the stop returned: %v; want no last error (generation 1's SIGKILL)", err)
	}
	again, err := sys.StopRunner(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if again.EndedBy != "not running" || again.Generation != 2 || again.Failure != nil {
		t.Errorf("second stop: ended by %q, generation %d, failure %v; want \"not running\", 2, none (generation 1's failure is not this stop's)",
			again.EndedBy, again.Generation, again.Failure)
	}
	// Its actor is gone now ("not running"): the supervisor answers, and
	// generation 1's failure is not this runner's last error either.
	_, err = sys.Submit(ctx, id, exo.Task{ID: "after-removal", Kind: "text_generation"})
	if !errors.Is(err, exo.ErrRunnerNotAvailable) || strings.Contains(err.Error(), "last error") || !strings.Contains(err.Error(), "spawn a new runner") {
		t.Errorf("Submit once the runner is gone: %v; want ErrRunnerNotAvailable, spawn a new runner, and no last error (generation 1's SIGKILL)", err)
	}
}

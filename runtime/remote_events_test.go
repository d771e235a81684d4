package runtime_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestRemoteTypedEvents: a client process (this test) watches runners of a
// node process through its runner-status stream and gets the node's events
// as the values a local subscriber gets: ProcessStarted with its pid,
// StatusChanged with From/To and the layers of Loading, a RunnerFailed
// whose Failure says why (exit code, source), ProcessExited, RunnerStopped
// with how the stop ended. WaitReady works through the Node interface.
func TestRemoteTypedEvents(t *testing.T) {
	cfg := writeConfig(t, map[string]string{
		"echo":  fmt.Sprintf(echoKind, "0s"),
		"crash": `{"builtin": true, "args": ["--layers", "2", "--layer-delay", "1ms", "--fault", "crash-loading:1"]}`,
	}, "")
	node := startNode(t, "node-ev", cfg)
	ctx := remoteCtx(t, time.Minute)
	c, err := dial(ctx, node.addr, exo.WithClientName("typed-events"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var n exo.Node = c // the one-line switch: an embedded System fits here too

	sub, err := n.Subscribe(exo.TopicRunnerStatus, exo.Filter{}, exo.SubscribeOptions{Buffer: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()

	id, err := n.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.WaitReady(ctx, id); err != nil {
		t.Fatalf("WaitReady(%s): %v", id, err)
	}
	var started *exo.ProcessStarted
	var loading, ready *exo.StatusChanged
	for ready == nil {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("runner-status stream: %v", err)
		}
		if ev.Payload == nil {
			t.Fatalf("event %d (%s) has no payload", ev.Seq, ev.Kind)
		}
		if ev.Payload.EventKind() != ev.Kind || ev.Payload.EventRunnerID() != ev.RunnerID {
			t.Errorf("event %d: kind %q runner %q, payload %T says %q %q", ev.Seq, ev.Kind, ev.RunnerID, ev.Payload, ev.Payload.EventKind(), ev.Payload.EventRunnerID())
		}
		switch p := ev.Payload.(type) {
		case exo.ProcessStarted:
			started = &p
		case exo.StatusChanged:
			if p.To == exo.StatusLoading && p.TotalLayers > 0 {
				loading = &p
			}
			if p.To == exo.StatusReady {
				ready = &p
			}
		}
	}
	if started == nil || started.Pid <= 0 || started.Generation != 1 || started.RunnerID != id || started.At.IsZero() {
		t.Errorf("ProcessStarted: %+v", started)
	}
	if loading == nil || loading.TotalLayers != 1 {
		t.Errorf("no Loading status with its layers: %+v", loading)
	}
	if ready.From != exo.StatusWarmingUp || ready.Generation != 1 || ready.At.IsZero() {
		t.Errorf("Ready: %+v, want From WarmingUp", ready)
	}

	// A runner that crashes while loading: WaitReady returns its failure,
	// typed, and the stream says the same.
	bad, err := n.SpawnRunner(ctx, exo.RunnerSpec{Kind: "crash"})
	if err != nil {
		t.Fatal(err)
	}
	err = n.WaitReady(ctx, bad)
	var rf *exo.RunnerFailure
	if !errors.Is(err, exo.ErrRunnerFailed) || !errors.As(err, &rf) {
		t.Fatalf("WaitReady of a runner that crashes: %v (want a *RunnerFailure)", err)
	}
	if rf.RunnerID != bad || rf.Exit == nil || rf.Exit.Code != 1 || rf.Source == "" || rf.Pid <= 0 {
		t.Errorf("the failure lost its details: %+v (exit %+v)", rf, rf.Exit)
	}
	var failed *exo.RunnerFailed
	var exited *exo.ProcessExited
	for failed == nil || exited == nil {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("runner-status stream: %v", err)
		}
		if ev.RunnerID != bad {
			continue
		}
		switch p := ev.Payload.(type) {
		case exo.RunnerFailed:
			failed = &p
		case exo.ProcessExited:
			exited = &p
		}
	}
	if failed.Failure == nil || failed.Failure.Error() != rf.Error() {
		t.Errorf("RunnerFailed event %+v, WaitReady said %v", failed.Failure, rf)
	}
	if exited.Status.Code != 1 || exited.Pid <= 0 || exited.Status.Lifetime <= 0 {
		t.Errorf("ProcessExited: %+v", exited)
	}
	if _, err := n.StopRunner(ctx, bad); err != nil {
		t.Fatal(err)
	}

	// Stopping the good one: RunnerStopped says how.
	res, err := n.StopRunner(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Its steps' names cross the wire (a Ready runner gets the frame first).
	if len(res.Steps) == 0 || res.Steps[0].Name != "shutdown frame" {
		t.Errorf("StopRunner's steps %+v: want the Shutdown frame first", res.Steps)
	}
	// And their times: before, Started was the zero time over the network
	// (the answer carried the names alone: a docs-only trial).
	for _, s := range res.Steps {
		if s.Started.IsZero() || time.Since(s.Started) > time.Minute {
			t.Errorf("StopRunner's step %+v: want the time it began on the node", s)
		}
	}
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("runner-status stream: %v", err)
		}
		if p, ok := ev.Payload.(exo.RunnerStopped); ok && ev.RunnerID == id {
			if p.Result.EndedBy != res.EndedBy || p.Result.Total <= 0 || len(p.Result.Steps) == 0 {
				t.Errorf("RunnerStopped: %+v; StopRunner said %+v", p.Result, res)
			}
			break
		}
	}
	if err := n.WaitReady(ctx, "echo-nosuch"); !errors.Is(err, exo.ErrUnknownRunner) {
		t.Errorf("WaitReady of an unknown runner: %v", err)
	}
}

package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// streamCheck reads a subscription to its end and checks the order of its
// sequence numbers: strictly increasing, every hole covered by a Gap event.
type streamCheck struct {
	events, gaps, dropped int
	chunks                map[string]int // per task
	outcomes              map[string]int // terminal task statuses per task
	err                   error          // how it ended
	bad                   string         // the first order violation
}

// readStream reads until the stream ends or wantOutcomes tasks ended on it
// (0: until the end).
func readStream(ctx context.Context, sub *exo.Subscription, wantOutcomes int) *streamCheck {
	sc := &streamCheck{chunks: map[string]int{}, outcomes: map[string]int{}}
	var last, gapTo uint64
	for wantOutcomes == 0 || len(sc.outcomes) < wantOutcomes {
		ev, err := sub.Next(ctx)
		if err != nil {
			sc.err = err
			return sc
		}
		if sc.events == 0 && ev.Seq == 0 {
			sc.bad = "event with seq 0"
		}
		if ev.Gap != nil {
			sc.gaps++
			sc.dropped += int(ev.Gap.Dropped)
			gapTo = ev.Gap.ToSeq
			continue
		}
		switch {
		case sc.bad != "":
		case ev.Seq <= last:
			sc.bad = fmt.Sprintf("seq %d after %d", ev.Seq, last)
		case last != 0 && ev.Seq != last+1 && gapTo != ev.Seq-1:
			sc.bad = fmt.Sprintf("seq %d after %d with no Gap event for the hole", ev.Seq, last)
		}
		last, gapTo = ev.Seq, 0
		sc.events++
		switch p := ev.Payload.(type) {
		case exo.TaskChunk:
			sc.chunks[ev.TaskID]++
		case exo.TaskStatusChanged:
			switch p.Status {
			case exo.TaskComplete, exo.TaskFailed,
				exo.TaskCancelled, exo.TaskTimedOut:
				sc.outcomes[ev.TaskID]++
			}
		}
	}
	return sc
}

// TestRemoteThreeNodes: three node processes, one client process (this
// test) places a runner on each by kind, runs 300 tasks across them and
// follows every node's tasks topic: each task's chunks arrive in order
// with one outcome, and each stream is in order and complete (no Gap: the
// window keeps up).
func TestRemoteThreeNodes(t *testing.T) {
	// Each runner's queue holds all its 100 tasks: they are submitted
	// without waiting, and the default bound (64) failed the test with
	// ErrQueueFull whenever the runner was slower than the submits
	// (GOMAXPROCS=1 under load). The bound is not what this test is
	// about. A gate task on each runner (it blocks until cancelled) holds
	// every task queued until all are submitted, so each run meets the
	// slow runner.
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, `, "tasks": {"queue": 128}`)
	var nodes []*nodeProc
	for _, name := range []string{"node-a", "node-b", "node-c"} {
		nodes = append(nodes, startNode(t, name, cfg))
	}
	ctx := remoteCtx(t, 2*time.Minute)
	var clients []*exo.Client
	for _, n := range nodes {
		c, err := dial(ctx, n.addr, exo.WithClientName("three-nodes"))
		if err != nil {
			t.Fatalf("dial %s: %v", n.name, err)
		}
		t.Cleanup(func() { c.Close() })
		if c.NodeName() != n.name {
			t.Fatalf("node at %s says it is %q, want %q", n.addr, c.NodeName(), n.name)
		}
		clients = append(clients, c)
	}
	const tasks, tokens = 300, 5
	subs := make([]*exo.Subscription, len(clients))
	checks := make([]*streamCheck, len(clients))
	var readers sync.WaitGroup
	for i, c := range clients {
		sub, err := c.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{Window: 64, Buffer: 4096})
		if err != nil {
			t.Fatal(err)
		}
		subs[i] = sub
		readers.Add(1)
		go func() {
			defer readers.Done()
			checks[i] = readStream(ctx, sub, tasks/len(clients)+1) // and the gate's
		}()
	}
	var runners []string
	var api []exo.Node
	for _, c := range clients {
		var n exo.Node = c // the same interface as an embedded System
		id, err := n.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
		if err != nil {
			t.Fatal(err)
		}
		runners = append(runners, id)
		api = append(api, n)
	}
	gates := make([]*exo.TaskHandle, len(api))
	for k, n := range api {
		h, err := n.Submit(ctx, runners[k], exo.Task{ID: "gate", Kind: "text_generation", Params: map[string]string{"fault": "hang-progress"}})
		if err != nil {
			t.Fatalf("gate on %s: %v", nodes[k].name, err)
		}
		gates[k] = h
	}
	handles := make([]*exo.TaskHandle, tasks)
	for i := range tasks {
		k := i % len(api)
		h, err := api[k].Submit(ctx, runners[k], exo.Task{ID: fmt.Sprintf("t%03d", i), Kind: "text_generation",
			Params: map[string]string{"max_tokens": fmt.Sprint(tokens)}})
		if err != nil {
			t.Fatalf("submit %d to %s: %v", i, nodes[k].name, err)
		}
		handles[i] = h
	}
	for k, n := range api {
		if _, err := n.Cancel(ctx, runners[k], "gate"); err != nil {
			t.Fatalf("cancel the gate on %s: %v", nodes[k].name, err)
		}
		if o, err := gates[k].Wait(ctx); err != nil || o.Status != exo.TaskCancelled {
			t.Fatalf("gate on %s: %+v, %v; want Cancelled", nodes[k].name, o, err)
		}
	}
	for i, h := range handles {
		var text strings.Builder
		for {
			c, err := h.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("task %d: %v", i, err)
			}
			text.WriteString(c.Text)
		}
		o, err := h.Wait(ctx)
		if err != nil || o.Status != exo.TaskComplete || o.Chunks != tokens {
			t.Fatalf("task %d: outcome %+v, %v; want Complete with %d chunks", i, o, err, tokens)
		}
		if want := "tok0 tok1 tok2 tok3 tok4"; !strings.HasPrefix(text.String(), want) {
			t.Fatalf("task %d: text %q, want it to start %q (chunks in order)", i, text.String(), want)
		}
	}
	// Each reader returns once its stream carried every outcome of its node.
	readers.Wait()
	for k, c := range clients {
		if _, err := c.StopRunner(ctx, runners[k]); err != nil {
			t.Fatal(err)
		}
		st, err := c.NodeStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Subscriptions != 1 || st.OpenTasks != 0 {
			t.Errorf("node %s: %+v, want 1 subscription and no open task", nodes[k].name, st)
		}
	}
	for k, sc := range checks {
		if sc.bad != "" || sc.gaps != 0 || sc.err != nil {
			t.Errorf("node %s tasks stream: %q, %d gaps, error %v", nodes[k].name, sc.bad, sc.gaps, sc.err)
		}
		for id, n := range sc.outcomes {
			if id == "gate" {
				if n != 1 {
					t.Errorf("node %s: the gate has %d outcomes on the stream, want 1", nodes[k].name, n)
				}
				continue
			}
			if n != 1 || sc.chunks[id] != tokens {
				t.Errorf("node %s task %s: %d outcomes and %d chunks on the stream, want 1 and %d", nodes[k].name, id, n, sc.chunks[id], tokens)
			}
		}
		t.Logf("node %s: %d events on its tasks stream, in order, for %d tasks", nodes[k].name, sc.events, len(sc.outcomes))
	}
	for _, s := range subs {
		s.Close()
		if _, err := s.Next(ctx); !errors.Is(err, exo.ErrEndOfStream) {
			t.Errorf("after Close: %v, want EndOfStream", err)
		}
	}
}

// TestRemoteSlowSubscriber: a remote subscriber that does not read while a
// task streams loses the oldest events on the node, and gets Gap events
// that account for every one of them, in sequence order; then
// EndOfStream when it closes.
func TestRemoteSlowSubscriber(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, "")
	node := startNode(t, "slow-sub", cfg)
	ctx := remoteCtx(t, time.Minute)
	c, err := dial(ctx, node.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	const tokens = 500
	sub, err := c.Subscribe(exo.TopicTasks, exo.Filter{TaskID: "flood", Kinds: []string{"task_chunk"}}, exo.SubscribeOptions{Window: 8, Buffer: 16})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Submit(ctx, id, exo.Task{ID: "flood", Kind: "text_generation", Params: map[string]string{"max_tokens": fmt.Sprint(tokens)}})
	if err != nil {
		t.Fatal(err)
	}
	// Not reading until the task ended: the node holds 8 in flight and 16
	// buffered, and drops the rest, oldest first.
	if o, err := h.Wait(ctx); err != nil || o.Status != exo.TaskComplete {
		t.Fatalf("flood: %+v, %v", o, err)
	}
	var events, dropped, gaps int
	var last uint64
	for events+dropped < tokens {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("after %d events and %d dropped: %v", events, dropped, err)
		}
		if ev.Gap != nil {
			if ev.Gap.FromSeq <= last {
				t.Fatalf("gap %+v after seq %d", *ev.Gap, last)
			}
			gaps++
			dropped += int(ev.Gap.Dropped)
			last = ev.Gap.ToSeq
			continue
		}
		if ev.Seq <= last {
			t.Fatalf("seq %d after %d", ev.Seq, last)
		}
		last = ev.Seq
		events++
	}
	if gaps == 0 || dropped == 0 {
		t.Fatalf("%d events, %d gaps: want the slow subscriber to have lost some, with Gap events", events, gaps)
	}
	t.Logf("slow remote subscriber: %d events received, %d dropped in %d Gap events, none unaccounted", events, dropped, gaps)
	sub.Close()
	if _, err := sub.Next(ctx); !errors.Is(err, exo.ErrEndOfStream) {
		t.Fatalf("after Close: %v", err)
	}
}

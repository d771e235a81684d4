package actors_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func textTask(id string, tokens int, params ...string) actors.TaskSpec {
	p := map[string]string{"max_tokens": strconv.Itoa(tokens)}
	for i := 0; i+1 < len(params); i += 2 {
		p[params[i]] = params[i+1]
	}
	return actors.TaskSpec{ID: id, Kind: "text_generation", Params: p}
}

// taskTrace renders the events of one runner as a compact sequence:
// "task:t1:Pending runner:Running chunk:t1 ... task:t1:Complete runner:Ready".
func taskTrace(evs []actors.Event, runnerID string) []string {
	var out []string
	for _, e := range evs {
		switch e := e.(type) {
		case *actors.TaskStatusChanged:
			if e.RunnerID == runnerID {
				out = append(out, "task:"+e.TaskID+":"+actors.TaskStatusName(e.Status))
			}
		case *actors.TaskChunk:
			if e.RunnerID == runnerID {
				if e.Chunk.GetError() != nil {
					out = append(out, "errchunk:"+e.TaskID)
				} else {
					out = append(out, "chunk:"+e.TaskID)
				}
			}
		case *actors.StatusChanged:
			if e.RunnerID == runnerID {
				out = append(out, "runner:"+protocol.StatusName(e.To.GetKind()))
			}
		}
	}
	return out
}

func readyRunner(t *testing.T, n *testNode, args ...string) string {
	t.Helper()
	id, err := n.SpawnRunner(ctxT(t), builtin(args...))
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	return id
}

func wait(t *testing.T, h *actors.TaskHandle) actors.TaskOutcome {
	t.Helper()
	o, err := h.Wait(ctxT(t))
	if err != nil {
		t.Fatalf("task %s: %v", h.ID, err)
	}
	return o
}

func TestTaskHappyPathExactEventOrder(t *testing.T) {
	n := startNode(t)
	id := readyRunner(t, n)
	h, err := n.Submit(ctxT(t), id, textTask("t1", 20))
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for {
		c, err := h.Next(ctxT(t))
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, c.GetToken().GetText())
	}
	o := wait(t, h)
	if o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE || o.Chunks != 20 || len(texts) != 20 {
		t.Fatalf("outcome %+v, %d chunks read", o, len(texts))
	}
	n.rec.waitFor(t, 10*time.Second, "runner Ready again", func(evs []actors.Event) bool {
		tr := taskTrace(evs, id)
		return tr[len(tr)-1] == "runner:Ready" && strings.Contains(strings.Join(tr, " "), "task:t1:Complete")
	})
	tr := taskTrace(n.rec.snapshot(), id)
	var i int
	for i = range tr {
		if tr[i] == "task:t1:Pending" {
			break
		}
	}
	want := []string{"task:t1:Pending", "task:t1:Running", "runner:Running"}
	for k := 0; k < 20; k++ {
		want = append(want, "chunk:t1")
	}
	want = append(want, "task:t1:Complete", "runner:Ready")
	if got := strings.Join(tr[i:], " "); got != strings.Join(want, " ") {
		t.Errorf("event order:\n got %s\nwant %s", got, strings.Join(want, " "))
	}
}

func TestTasksInSequenceAndQueued(t *testing.T) {
	n := startNode(t)
	id := readyRunner(t, n)
	var hs []*actors.TaskHandle
	for i := 1; i <= 3; i++ { // submitted at once: one runs, two queue (InFlight 1)
		h, err := n.Submit(ctxT(t), id, textTask(fmt.Sprintf("q%d", i), 5))
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	for _, h := range hs {
		if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE || o.Chunks != 5 {
			t.Errorf("%s: %+v", h.ID, o)
		}
	}
	// Never two in flight: each Running comes after the previous Complete.
	tr := strings.Join(taskTrace(n.rec.snapshot(), id), " ")
	for i := 2; i <= 3; i++ {
		prev := strings.Index(tr, fmt.Sprintf("task:q%d:Complete", i-1))
		run := strings.Index(tr, fmt.Sprintf("task:q%d:Running", i))
		if prev < 0 || run < prev {
			t.Errorf("q%d started before q%d completed:\n%s", i, i-1, tr)
		}
	}
}

func TestTaskDedup(t *testing.T) {
	n := startNode(t)
	// The runner runs one task at a time: a gate in front holds "same"
	// queued until the gate is cancelled, so the second Submit finds it
	// live whatever the load. Before, a 20 ms token delay was to keep it
	// running until the second Submit came; a starved test goroutine
	// found it ended (another path of the dedup: a new, ended handle).
	id := readyRunner(t, n, "--token-delay", "2ms")
	gate := mustSubmit(t, n, id, textTask("gate", 100000))
	h1, err := n.Submit(ctxT(t), id, textTask("same", 3))
	if err != nil {
		t.Fatal(err)
	}
	h2, err := n.Submit(ctxT(t), id, textTask("same", 3))
	if err != nil || h2 != h1 {
		t.Fatalf("second submit: %v, same handle %v", err, h2 == h1)
	}
	// The same ID for a task of another kind is another task: refused, not
	// answered with the first one's handle (while it is live, and after).
	other := actors.TaskSpec{ID: "same", Kind: "noop"}
	wantOther := `runner ` + id + ` already has a task of that ID, of kind "text_generation", not "noop"`
	if _, err := n.Submit(ctxT(t), id, other); !errors.Is(err, actors.ErrInvalidTask) || !strings.Contains(err.Error(), wantOther) {
		t.Errorf("the same ID with another kind while it is live: %v, want ErrInvalidTask: %s", err, wantOther)
	}
	if _, err := n.Cancel(ctxT(t), id, "gate"); err != nil {
		t.Fatalf("cancel the gate: %v", err)
	}
	if o := wait(t, gate); o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED {
		t.Fatalf("gate: %+v, want Cancelled", o)
	}
	o1 := wait(t, h1)
	if o1.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Fatalf("same: %+v, want Complete", o1)
	}
	if _, err := n.Submit(ctxT(t), id, other); !errors.Is(err, actors.ErrInvalidTask) || !strings.Contains(err.Error(), wantOther) {
		t.Errorf("the same ID with another kind after the end: %v, want ErrInvalidTask: %s", err, wantOther)
	}
	// After it ended: the remembered outcome (not the chunks) in a handle
	// that has already ended.
	h3, err := n.Submit(ctxT(t), id, textTask("same", 3))
	if err != nil {
		t.Fatal(err)
	}
	if o3 := h3.Outcome(); o3 == nil || *o3 != o1 {
		t.Errorf("submit after the end: outcome %+v, want %+v", o3, o1)
	}
	if first, total := h3.Held(); first != 3 || total != 3 || len(h3.Chunks()) != 0 {
		t.Errorf("submit after the end: holds chunks from %d of %d (%d), want none of 3", first, total, len(h3.Chunks()))
	}
	runs := strings.Count(strings.Join(taskTrace(n.rec.snapshot(), id), " "), "task:same:Running")
	if runs != 1 {
		t.Errorf("task ran %d times, want once", runs)
	}
}

func TestCancelOneCancelAllAndTimeout(t *testing.T) {
	n := startNode(t)
	id := readyRunner(t, n, "--token-delay", "2ms")
	ctx := ctxT(t)

	long, _ := n.Submit(ctx, id, textTask("long", 100000))
	queued, _ := n.Submit(ctx, id, textTask("queued", 5))
	if _, err := long.Chunk(ctx, 0); err != nil { // running for sure
		t.Fatal(err)
	}
	if c, err := n.Cancel(ctx, id, "long"); err != nil || c != 1 {
		t.Fatalf("cancel one: %d %v", c, err)
	}
	if o := wait(t, long); o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED {
		t.Errorf("long: %+v", o)
	}
	if o := wait(t, queued); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("queued after the cancel: %+v", o)
	}
	if _, err := n.Cancel(ctx, id, "never-submitted"); !errors.Is(err, actors.ErrTaskNotFound) {
		t.Errorf("cancel unknown: %v", err)
	}

	a, _ := n.Submit(ctx, id, textTask("a", 100000))
	b, _ := n.Submit(ctx, id, textTask("b", 100000))
	if _, err := a.Chunk(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if c, err := n.Cancel(ctx, id, ""); err != nil || c != 2 {
		t.Fatalf("cancel all: %d %v", c, err)
	}
	for _, h := range []*actors.TaskHandle{a, b} {
		if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED {
			t.Errorf("%s: %+v", h.ID, o)
		}
	}

	slow := textTask("slow", 100000)
	slow.Timeout = 150 * time.Millisecond
	h, _ := n.Submit(ctx, id, slow)
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_TIMED_OUT || !strings.Contains(o.Reason, "timed out after 150ms") {
		t.Errorf("slow: %+v", o)
	}
	// The runner is still fine afterwards.
	if o := wait(t, mustSubmit(t, n, id, textTask("after", 3))); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("after: %+v", o)
	}
}

func mustSubmit(t *testing.T, n *testNode, id string, spec actors.TaskSpec) *actors.TaskHandle {
	t.Helper()
	h, err := n.Submit(ctxT(t), id, spec)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestAckTimeout(t *testing.T) {
	self, _ := os.Executable()
	n := startNode(t, func(c *actors.NodeConfig) {
		c.Tasks.AckTimeout = 200 * time.Millisecond
		c.Tasks.CancelWait = 100 * time.Millisecond
	})
	id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "noack", Command: self, Env: []string{"EXO_ACTORS_HELPER=no-ack"}})
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	o := wait(t, mustSubmit(t, n, id, textTask("x", 3)))
	if o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || !strings.Contains(o.Reason, "did not acknowledge") {
		t.Errorf("outcome %+v", o)
	}
}

func TestSubmitRules(t *testing.T) {
	n := startNode(t)
	ctx := ctxT(t)
	// Not Ready yet (loading): queued, and it runs once Ready.
	id, _ := n.SpawnRunner(ctx, builtin("--layers", "5", "--layer-delay", "20ms"))
	h, err := n.Submit(ctx, id, textTask("early", 3))
	if err != nil {
		t.Fatalf("submit while loading: %v", err)
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Errorf("early: %+v", o)
	}
	// Bad task.
	if _, err := n.Submit(ctx, id, actors.TaskSpec{Kind: "noop"}); err == nil || !strings.Contains(err.Error(), "empty ID") {
		t.Errorf("empty ID: %v", err)
	}
	// Unknown runner.
	if _, err := n.Submit(ctx, "nope-123456", textTask("x", 1)); !errors.Is(err, actors.ErrUnknownRunner) {
		t.Errorf("unknown runner: %v", err)
	}
	// A failed runner refuses with the reason.
	bad, _ := n.SpawnRunner(ctx, builtin("--fault", "exit:4"))
	n.rec.waitFor(t, 20*time.Second, "failure", failed(bad))
	n.rec.waitFor(t, 20*time.Second, "actor gone", func([]actors.Event) bool {
		_, err := n.Submit(ctx, bad, textTask("late", 1))
		return err != nil && !strings.Contains(err.Error(), "stopping")
	})
	if _, err := n.Submit(ctx, bad, textTask("late", 1)); !errors.Is(err, actors.ErrRunnerNotAvailable) || !strings.Contains(err.Error(), "exitcode=4") {
		t.Errorf("submit to failed runner: %v", err)
	}
	// After Shutdown: a clear error.
	if _, err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Submit(ctx, id, textTask("post", 1)); !errors.Is(err, actors.ErrShuttingDown) {
		t.Errorf("submit after shutdown: %v", err)
	}
}

func TestCrashMidStreamFailsTasks(t *testing.T) {
	cases := []struct {
		name   string
		params []string
		kill   bool
		reason string
	}{
		{"exit code", []string{"fault", "crash-after:3"}, false, "exitcode=1"},
		{"SIGKILL", nil, true, "signal=9"},
		{"hang", []string{"fault", "hang"}, false, "no heartbeat"},
		{"no progress", []string{"fault", "hang-progress"}, false, "no progress"},
		{"garbage", []string{"fault", "garbage"}, false, "bad output"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			n := startNode(t)
			id := readyRunner(t, n, "--token-delay", "2ms")
			ctx := ctxT(t)
			// The runner runs one task at a time: the gate holds the victim
			// (whose fault acts when it starts) until both it and "queued"
			// are queued; cancelling the gate lets the victim start. Without
			// the gate the fault could end the runner before the second
			// Submit reached the node.
			gate := mustSubmit(t, n, id, textTask("gate", 100000))
			h := mustSubmit(t, n, id, textTask("victim", 100000, c.params...))
			queued := mustSubmit(t, n, id, textTask("queued", 3))
			if _, err := n.Cancel(ctx, id, "gate"); err != nil {
				t.Fatalf("cancel the gate: %v", err)
			}
			if o, err := gate.Wait(ctx); err != nil || o.Status != exov1.TaskStatus_TASK_STATUS_CANCELLED {
				t.Fatalf("gate: %+v, %v; want Cancelled", o, err)
			}
			if c.kill {
				if _, err := h.Chunk(ctx, 0); err != nil {
					t.Fatal(err)
				}
				infos, _ := n.Runners(ctx)
				for _, in := range infos {
					if in.ID == id {
						_ = syscall.Kill(in.Pid, syscall.SIGKILL)
					}
				}
			}
			o, err := h.Wait(context.Background()) // returns without a deadline
			if err != nil {
				t.Fatal(err)
			}
			if o.Status != exov1.TaskStatus_TASK_STATUS_FAILED || !strings.Contains(o.Reason, c.reason) {
				t.Errorf("victim outcome %+v, want Failed with %q", o, c.reason)
			}
			chunks := h.Chunks()
			if last := chunks[len(chunks)-1]; last.GetError() == nil || !strings.Contains(last.GetError().GetErrorMessage(), c.reason) {
				t.Errorf("last chunk %v, want an error chunk with %q", last, c.reason)
			}
			qo, _ := queued.Wait(context.Background())
			if qo.Status != exov1.TaskStatus_TASK_STATUS_FAILED {
				t.Errorf("queued outcome %+v", qo)
			}
			// The error chunk comes before the Failed status, once.
			tr := strings.Join(taskTrace(n.rec.snapshot(), id), " ")
			if strings.Count(tr, "task:victim:Failed") != 1 || strings.Index(tr, "errchunk:victim") > strings.Index(tr, "task:victim:Failed") {
				t.Errorf("trace: %s", tr)
			}
		})
	}
}

// TestRandomTaskCycles: seeded random submit/cancel/kill/stop; every task
// ends exactly once and every waiter returns.
func TestRandomTaskCycles(t *testing.T) {
	cycles := 200
	if testing.Short() {
		cycles = 40
	}
	rng := seededRand(t, cycles, "cycles")
	n := startNode(t, func(c *actors.NodeConfig) { c.Tasks.InFlight = 2; c.Tasks.CancelWait = 200 * time.Millisecond })
	var (
		mu      sync.Mutex
		handles []*actors.TaskHandle
		wg      sync.WaitGroup
	)
	sem := make(chan struct{}, 4) // never closed
	for c := 0; c < cycles; c++ {
		nTasks, action, at := 1+rng.Intn(4), rng.Intn(4), rng.Intn(4)
		sem <- struct{}{}
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			defer func() { <-sem }()
			// A deadline per cycle, not one for all 200 (a loaded machine
			// runs past a shared 30 s: TestSpawnKillStopCycles did).
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			id, err := n.SpawnRunner(ctx, builtin("--token-delay", "1ms"))
			if err != nil {
				t.Error(err)
				return
			}
			var mine []*actors.TaskHandle
			for i := 0; i < nTasks; i++ {
				h, err := n.Submit(ctx, id, textTask(fmt.Sprintf("c%d-t%d", c, i), 1+i*20))
				if err != nil {
					break // the runner may already be gone: a clear error is fine
				}
				mine = append(mine, h)
			}
			if len(mine) > 0 && at > 0 {
				_, _ = mine[0].Chunk(ctx, at-1) // a random point in the stream
			}
			switch action {
			case 0:
				_, _ = n.Cancel(ctx, id, "")
			case 1:
				if infos, err := n.Runners(ctx); err == nil {
					for _, in := range infos {
						if in.ID == id && in.Pid > 0 {
							_ = syscall.Kill(in.Pid, syscall.SIGKILL)
						}
					}
				}
			case 2:
				_, _ = n.StopRunner(ctx, id)
			}
			for _, h := range mine {
				if _, err := h.Wait(ctx); err != nil {
					t.Errorf("waiter of %s blocked: %v", h.ID, err)
				}
			}
			_, _ = n.StopRunner(ctx, id)
			mu.Lock()
			handles = append(handles, mine...)
			mu.Unlock()
		}(c)
	}
	wg.Wait()
	terminal := map[string]int{}
	for _, e := range n.rec.snapshot() {
		if s, ok := e.(*actors.TaskStatusChanged); ok && s.Status != exov1.TaskStatus_TASK_STATUS_PENDING && s.Status != exov1.TaskStatus_TASK_STATUS_RUNNING {
			terminal[s.TaskID]++
		}
	}
	for _, h := range handles {
		if terminal[h.ID] != 1 || h.Outcome() == nil {
			t.Errorf("task %s: %d terminal statuses, outcome %v", h.ID, terminal[h.ID], h.Outcome())
		}
	}
	if left := markedProcesses(marker); len(left) > 0 {
		t.Errorf("processes left: %v", left)
	}
}

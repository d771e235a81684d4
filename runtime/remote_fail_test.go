package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// killBound is the documented bound on noticing a kill -9 (docs/remote.md).
const killBound = time.Second

// frozenBound is the documented bound on noticing a frozen node (SIGSTOP):
// lostAfter (1.5s) plus one heartbeat (250ms), with room for a busy CI.
const frozenBound = 3 * time.Second

type placed struct {
	node    *nodeProc
	client  *exo.Client
	runner  string
	pid     int
	handles []*exo.TaskHandle
	sub     *exo.Subscription
}

// place dials each node with opts, spawns one slow runner there and
// submits n tasks.
func place(t *testing.T, ctx context.Context, nodes []*nodeProc, n int, opts ...exo.DialOption) []*placed {
	t.Helper()
	var out []*placed
	for _, nd := range nodes {
		c, err := exo.Dial(ctx, nd.addr, opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		sub, err := c.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{Buffer: 4096})
		if err != nil {
			t.Fatal(err)
		}
		id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "slow"})
		if err != nil {
			t.Fatal(err)
		}
		p := &placed{node: nd, client: c, runner: id, sub: sub}
		for i := range n {
			h, err := c.Submit(ctx, id, exo.Task{ID: fmt.Sprintf("%s-%d", nd.name, i), Kind: "text_generation",
				Params: map[string]string{"max_tokens": "40"}})
			if err != nil {
				t.Fatal(err)
			}
			p.handles = append(p.handles, h)
		}
		// The first task is running once its first chunk came.
		if _, err := p.handles[0].Chunk(ctx, 0); err != nil {
			t.Fatal(err)
		}
		infos, err := c.Runners(ctx)
		if err != nil || len(infos) != 1 {
			t.Fatalf("runners of %s: %v, %v", nd.name, infos, err)
		}
		p.pid = infos[0].Pid
		out = append(out, p)
	}
	return out
}

// checkLost checks that every handle of p ended Failed, exactly once, with a
// reason naming the node, within bound of since; its subscription ended
// with ErrNodeLost; a later call returns ErrNodeLost.
func checkLost(t *testing.T, ctx context.Context, p *placed, since time.Time, bound time.Duration) {
	t.Helper()
	var worst time.Duration
	for _, h := range p.handles {
		o, err := h.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(since); d > worst {
			worst = d
		}
		if o.Status != exo.TaskFailed || !strings.Contains(o.Reason, p.node.name) || !strings.Contains(o.Reason, "lost") {
			t.Errorf("task %s: %s %q, want Failed naming the lost node %s", h.ID, o.Status, o.Reason, p.node.name)
		}
		if again := h.Outcome(); again == nil || *again != o {
			t.Errorf("task %s: outcome changed after the end: %+v then %+v", h.ID, o, again)
		}
		// A reader of Next learns that the output was cut: an error chunk
		// naming the loss comes last, then io.EOF (before the fix: io.EOF
		// right after the last token, as for a whole output).
		var last exo.Chunk
		for {
			c, err := h.Next(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("task %s: Next: %v", h.ID, err)
			}
			last = c
		}
		if !strings.Contains(last.Error, "lost") || !strings.Contains(last.Error, p.node.name) || last.Text != "" {
			t.Errorf("task %s: last chunk before io.EOF %+v; want an error chunk naming the lost node %s", h.ID, last, p.node.name)
		}
	}
	t.Logf("node %s: %d open tasks ended Failed within %s of the fault (bound %s)", p.node.name, len(p.handles), worst.Round(time.Millisecond), bound)
	if worst > bound {
		t.Errorf("node %s: tasks ended %s after the fault, bound %s", p.node.name, worst, bound)
	}
	for {
		_, err := p.sub.Next(ctx)
		if err == nil {
			continue
		}
		if !errors.Is(err, exo.ErrNodeLost) || !errors.Is(err, exo.ErrEndOfStream) {
			t.Errorf("subscription of %s ended with %v, want ErrNodeLost and EndOfStream", p.node.name, err)
		}
		break
	}
	if _, err := p.client.Runners(ctx); !errors.Is(err, exo.ErrNodeLost) {
		t.Errorf("a call after the loss of %s: %v, want ErrNodeLost", p.node.name, err)
	}
	if _, err := p.client.Submit(ctx, p.runner, exo.Task{ID: "late", Kind: "noop"}); !errors.Is(err, exo.ErrNodeLost) {
		t.Errorf("a submit after the loss of %s: %v, want ErrNodeLost", p.node.name, err)
	}
}

// TestRemoteKillNode: kill -9 one of three nodes mid-run. Its open tasks
// end exactly once, Failed with the lost-node reason, within killBound;
// the other nodes' tasks complete; no process is left.
func TestRemoteKillNode(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"slow": fmt.Sprintf(echoKind, "20ms")}, "")
	var nodes []*nodeProc
	for _, name := range []string{"kill-a", "kill-b", "kill-c"} {
		nodes = append(nodes, startNode(t, name, cfg))
	}
	ctx := remoteCtx(t, 2*time.Minute)
	// Not a test of the heartbeat: the victim's loss is its endpoint's
	// termination, and the other two must stay connected on a starved
	// machine too.
	ps := place(t, ctx, nodes, 3, steadyHeartbeat)
	victim := ps[1]
	victim.node.kill()
	killed := time.Now()
	checkLost(t, ctx, victim, killed, killBound)
	_ = victim.node.wait(t, 10*time.Second)
	waitGone(t, victim.pid, 10*time.Second)
	t.Logf("victim and its runner gone %s after the kill", time.Since(killed).Round(time.Millisecond))
	var wg sync.WaitGroup
	for _, p := range []*placed{ps[0], ps[2]} {
		for _, h := range p.handles {
			wg.Add(1)
			go func() {
				defer wg.Done()
				o, err := h.Wait(ctx)
				if err != nil || o.Status != exo.TaskComplete || o.Chunks != 40 {
					t.Errorf("task %s on %s: %+v, %v; want Complete with 40 chunks", h.ID, p.node.name, o, err)
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("the other nodes' %d tasks complete %s after the kill", 2*len(ps[0].handles), time.Since(killed).Round(time.Millisecond))
	for _, p := range []*placed{ps[0], ps[2]} {
		if err := p.client.Err(); err != nil {
			t.Errorf("client of %s: %v, want connected", p.node.name, err)
		}
	}
}

// TestRemoteFrozenNode: SIGSTOP a node. protoactor alone never notices;
// the application heartbeat does, within frozenBound.
func TestRemoteFrozenNode(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"slow": fmt.Sprintf(echoKind, "20ms")}, "")
	node := startNode(t, "frozen", cfg)
	ctx := remoteCtx(t, time.Minute)
	ps := place(t, ctx, []*nodeProc{node}, 2)
	if err := syscall.Kill(node.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := time.Now()
	t.Cleanup(func() { _ = syscall.Kill(node.cmd.Process.Pid, syscall.SIGCONT) })
	checkLost(t, ctx, ps[0], stopped, frozenBound)
}

// TestRemoteRetry: a Retryable task whose runner crashes mid-task is
// retried on the node; the remote handle says so (a *RetryError from Next,
// the earlier attempt's chunks discarded) and ends exactly once.
func TestRemoteRetry(t *testing.T) {
	crashy := `{"builtin": true, "args": ["--layers", "1", "--layer-delay", "1ms", "--warmup-delay", "1ms", "--token-delay", "1ms", "--fault", "crash-after:3"]}`
	cfg := writeConfig(t, map[string]string{"crashy": crashy}, "")
	node := startNode(t, "retry", cfg)
	ctx := remoteCtx(t, time.Minute)
	c, err := dial(ctx, node.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "crashy"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Submit(ctx, id, exo.Task{ID: "again", Kind: "text_generation", Retryable: true, Params: map[string]string{"max_tokens": "10"}})
	if err != nil {
		t.Fatal(err)
	}
	var retried bool
	for {
		_, err := h.Next(ctx)
		var re *exo.RetryError
		if errors.As(err, &re) {
			retried = true
			t.Logf("retry seen remotely: %v", re)
			continue
		}
		if err != nil {
			break
		}
	}
	o, err := h.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("outcome: %s attempt %d: %s", o.Status, o.Attempt, o.Reason)
	if !retried || o.Attempt != 2 {
		t.Fatalf("retried %v, outcome %+v: want a retry and attempt 2", retried, o)
	}
}

// TestRemoteNodeSIGTERM: SIGTERM shuts a node down gracefully (its runner
// stopped, the report printed, exit 0); its client sees the node lost.
func TestRemoteNodeSIGTERM(t *testing.T) {
	node, c, ctx := dialNode(t, "term", map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, time.Minute)
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := c.Submit(ctx, id, exo.Task{ID: "before-term", Kind: "noop"})
	if err != nil {
		t.Fatal(err)
	}
	if o, err := h.Wait(ctx); err != nil || o.Status != exo.TaskComplete {
		t.Fatalf("task: %+v, %v", o, err)
	}
	infos, err := c.Runners(ctx)
	if err != nil || len(infos) != 1 {
		t.Fatalf("runners: %v, %v", infos, err)
	}
	if err := node.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := node.wait(t, 30*time.Second); err != nil {
		t.Fatalf("node exit after SIGTERM: %v, want 0", err)
	}
	waitGone(t, infos[0].Pid, 10*time.Second)
	select {
	case <-c.Done():
	case <-ctx.Done():
		t.Fatal("the client did not notice the node's exit")
	}
	if !errors.Is(c.Err(), exo.ErrNodeLost) {
		t.Fatalf("client: %v, want ErrNodeLost", c.Err())
	}
	out, _ := os.ReadFile(node.out.Name())
	for _, want := range []string{"== terminated: graceful shutdown", "shutdown report", "node term: shut down gracefully"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("node output lacks %q:\n%s", want, out)
		}
	}
}

// TestRemoteWaitReadyHonoursCtxOnAFrozenNode: WaitReady's own Subscribe
// ends with the caller's ctx. Before, it waited for the client's call
// timeout (a minute), so on a frozen node WaitReady ended only when the
// heartbeat declared the node lost (ErrNodeLost after 1.5 s), whatever the
// caller's deadline.
func TestRemoteWaitReadyHonoursCtxOnAFrozenNode(t *testing.T) {
	// A runner that never finishes loading: one of echoKind loaded in 2 ms,
	// and on a loaded machine its Ready could reach the client before the
	// SIGSTOP below (WaitReady then returned nil, once in a full -race run).
	node, c, ctx := dialNode(t, "frozen-ready", map[string]string{"slow": `{"builtin": true, "args": ["--layers", "1", "--layer-delay", "1h"]}`}, time.Minute)
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(node.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(node.cmd.Process.Pid, syscall.SIGCONT) })
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err = c.WaitReady(short, id)
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, exo.ErrNodeLost) {
		t.Fatalf("WaitReady on a frozen node with a 300ms deadline: %v; want the deadline's error, not the node's loss", err)
	}
}

// TestRemoteShutdownNodeDeliversTheLastEvents: the tasks a node's shutdown
// ends are on the client's subscription once ShutdownNode returns, with
// the stream's end: a host (here exo-actors chaos's driver) that closes its
// client right after ShutdownNode loses none of them. Before, the report
// (from the gateway) could overtake the subscription's last deliveries
// (from its relay), and a soak saw a task's terminal status missing from
// its node's tasks stream.
func TestRemoteShutdownNodeDeliversTheLastEvents(t *testing.T) {
	node, c, ctx := dialNode(t, "last-events", map[string]string{"slow": fmt.Sprintf(echoKind, "20ms")}, time.Minute)
	sub, err := c.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{Buffer: 8192})
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	var hs []*exo.TaskHandle
	for i := range 4 {
		h, err := c.Submit(ctx, id, exo.Task{ID: fmt.Sprint("long-", i), Kind: "text_generation", Params: map[string]string{"max_tokens": "50"}})
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	if _, err := hs[0].Chunk(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ShutdownNode(ctx); err != nil {
		t.Fatal(err)
	}
	c.Close() // as the chaos driver does: nothing more may arrive now
	terminal := map[string]int{}
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			break
		}
		if st, ok := ev.Payload.(exo.TaskStatusChanged); ok && st.Status.Terminal() {
			terminal[st.TaskID]++
		}
	}
	for _, h := range hs {
		if terminal[h.ID] != 1 {
			t.Errorf("task %s: %d terminal statuses on the tasks stream after ShutdownNode, want 1 (outcome %+v)", h.ID, terminal[h.ID], h.Outcome())
		}
	}
	_ = node.wait(t, 30*time.Second)
}

package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/exo-actors/exo-actors/internal/loopport"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// RowFailoverMS is the failover group's row: kill -9 of the node hosting a
// runner with a Retryable task in flight → that task's Complete on the
// other node, through a ClusterClient.
const RowFailoverMS = "failover_ms"

// failoverTokens × failoverTokenDelay is how long the measured task runs
// (each attempt).
const (
	failoverTokens     = 10
	failoverTokenDelay = "20ms"
)

// FailoverMeasure is what the failover client child (`exo-actors
// bench-failover-client`) measured, in ms from the kill -9, printed as JSON.
type FailoverMeasure struct {
	// Detect: the client declared the member lost. Replace: the runner was
	// placed again (after the policy's backoff, Backoff). Resubmit: the
	// task was resubmitted. Complete: the retried task's Complete arrived.
	Detect, Backoff, Replace, Resubmit, Complete float64
	// Bound is the client's detection bound; RestartFloor a cold runner's
	// SpawnRunner → first Complete through the cluster, measured first.
	Bound, RestartFloor float64
	// TaskMS is how long one attempt of the task runs on the runner.
	TaskMS float64
}

// FailoverClient is the client side of failover_ms: it places a runner
// (on the node named first, both being empty), measures a cold start
// there, submits a Retryable task, kill -9s killPID (that node) once the
// first chunk arrived, and times the failover.
func FailoverClient(ctx context.Context, cluster string, peers []string, killPID int) (FailoverMeasure, error) {
	var m FailoverMeasure
	var mu sync.Mutex
	var evs []exo.ClusterEvent
	joined := make(chan struct{}, 1) // capacity 1: a wake-up; never closed
	cc, err := exo.DialCluster(ctx, exo.ClusterConfig{Cluster: cluster, Peers: peers, Hook: func(e exo.ClusterEvent) {
		mu.Lock()
		evs = append(evs, e)
		mu.Unlock()
		select {
		case joined <- struct{}{}:
		default:
		}
	}})
	if err != nil {
		return m, err
	}
	defer cc.Close()
	for len(cc.Members()) < 2 {
		select {
		case <-joined:
		case <-ctx.Done():
			return m, fmt.Errorf("the client sees %d members, want 2: %w", len(cc.Members()), ctx.Err())
		}
	}
	// The row kills -9, so its floor takes the bound for a death, not
	// DetectionBound's, which also covers a freeze (0.5 s more: a looser
	// floor would flatter the ratio).
	m.Bound = inUnit(cc.DeathDetectionBound(), time.Millisecond)
	start := time.Now()
	id, err := cc.SpawnRunner(ctx, exo.RunnerSpec{Kind: "bench"})
	if err != nil {
		return m, err
	}
	h, err := cc.Submit(ctx, id, exo.Task{ID: "cold", Kind: "noop"})
	if err != nil {
		return m, err
	}
	if o, err := h.Wait(ctx); err != nil || o.Status != exo.TaskComplete {
		return m, fmt.Errorf("cold task: %+v %v", o, err)
	}
	m.RestartFloor = inUnit(time.Since(start), time.Millisecond)
	h, err = cc.Submit(ctx, id, exo.Task{ID: "measured", Kind: "text_generation", Retryable: true,
		Params: map[string]string{"max_tokens": strconv.Itoa(failoverTokens)}})
	if err != nil {
		return m, err
	}
	if _, err := h.Next(ctx); err != nil {
		return m, fmt.Errorf("first chunk: %w", err)
	}
	killed := time.Now()
	if err := syscall.Kill(killPID, syscall.SIGKILL); err != nil {
		return m, fmt.Errorf("kill -9 %d: %w", killPID, err)
	}
	o, err := h.Wait(ctx)
	done := time.Now()
	if err != nil {
		return m, err
	}
	if o.Status != exo.TaskComplete || o.Attempt != 2 {
		return m, fmt.Errorf("the measured task ended %v at attempt %d (%s), want Complete at attempt 2", o.Status, o.Attempt, o.Reason)
	}
	m.Complete = inUnit(done.Sub(killed), time.Millisecond)
	td, _ := time.ParseDuration(failoverTokenDelay)
	m.TaskMS = inUnit(td*failoverTokens, time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	for _, e := range evs {
		d := inUnit(e.At.Sub(killed), time.Millisecond)
		switch e.Kind {
		case exo.ClusterMemberLost:
			m.Detect = d
		case exo.ClusterRunnerReplaced:
			m.Replace = d
		case exo.ClusterTaskResubmitted:
			m.Resubmit = d
		}
	}
	m.Backoff = m.Replace - m.Detect
	if m.Detect == 0 || m.Replace == 0 || m.Resubmit == 0 {
		return m, errors.New("the client reported no member_lost, runner_replaced or task_resubmitted event")
	}
	return m, nil
}

// failover measures failover_ms: two `exo-actors node --cluster` processes
// (automanaged, loopback) and a client child (`exo-actors
// bench-failover-client`, one protoactor Remote per process) that kill -9s
// the first node mid-task.
func (b *bencher) failover(ctx context.Context) (res []Result, err error) {
	dir, err := os.MkdirTemp("", "exo-bench-failover-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	args, _ := json.Marshal([]string{"--layers", "1", "--layer-delay", "0s", "--warmup-delay", "0s", "--token-delay", failoverTokenDelay, "--log-level", "error"})
	cfg := filepath.Join(dir, "node.json")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`{"kinds": {"bench": {"builtin": true, "args": %s}}}`, args)), 0o600); err != nil {
		return nil, err
	}
	// The members' automanaged ports: reserved outside the kernel's
	// ephemeral range, where a port-0 listener (a node's gateway) or an
	// outgoing connection could take a port picked by listening on port 0
	// before the member binds it. Given back after the nodes end.
	ports, err := loopport.Reserve(2)
	if err != nil {
		return nil, err
	}
	defer ports.Release()
	var peers []string
	for _, p := range ports.Ports {
		peers = append(peers, "127.0.0.1:"+strconv.Itoa(p))
	}
	cluster := fmt.Sprintf("bench-%d", os.Getpid())
	var nodes []*child
	defer func() {
		for _, n := range nodes {
			_ = n.cmd.Process.Signal(syscall.SIGTERM) // graceful: its runners are stopped, not orphaned
			_, _ = n.wait()
			n.stop()
		}
	}()
	for i, name := range []string{"bench-a", "bench-b"} {
		_, port, _ := net.SplitHostPort(peers[i])
		n, err := b.startChild("node", "--listen", "127.0.0.1:0", "--name", name, "--config", cfg, "--log-level", "error",
			"--cluster", cluster, "--cluster-port", port, "--cluster-peers", strings.Join(peers, ","))
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		r := bufio.NewReader(n.out)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return nil, fmt.Errorf("bench node: %v before it joined the cluster", err)
			}
			if strings.Contains(line, " joined cluster ") {
				break
			}
		}
	}
	cl, err := b.startChild("bench-failover-client", cluster, strings.Join(peers, ","), strconv.Itoa(nodes[0].cmd.Process.Pid))
	if err != nil {
		return nil, err
	}
	defer cl.stop()
	var m FailoverMeasure
	if err := json.NewDecoder(cl.out).Decode(&m); err != nil {
		_, werr := cl.wait()
		return nil, fmt.Errorf("bench failover client: %v (%v)", err, exitedCleanly(werr))
	}
	if _, err := cl.wait(); err != nil {
		return nil, fmt.Errorf("bench failover client: %w", exitedCleanly(err))
	}
	note := fmt.Sprintf("kill -9 → detected %.0f (bound %.0f), backoff %.0f, re-placed %.0f, resubmitted %.0f, Complete %.0f (a %.0f ms task); floor: detection bound + cold runner start %.0f",
		m.Detect, m.Bound, m.Backoff, m.Replace, m.Resubmit, m.Complete, m.TaskMS, m.RestartFloor)
	return []Result{newResult(RowFailoverMS, m.Complete, m.Bound+m.RestartFloor, "ms", goal(1.0), AtMost, note)}, nil
}

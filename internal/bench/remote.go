package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// Rows of the remote group.
const (
	RowRemoteEvents      = "remote_events"
	RowRemoteDispatchP50 = "remote_dispatch_p50"
)

// RemoteMeasure is what the remote client child (`exo-actors
// bench-remote-client`) measured against a node process, printed as JSON.
type RemoteMeasure struct {
	// EventsRate is chunk events per second from a runner on the node to a
	// Subscription in the client; BlastRate the raw protoactor remote rate
	// of messages of the same size between the same two processes.
	EventsRate, BlastRate float64
	EventSize             int
	// DispatchP50 is Submit → Complete of a noop task on the node's
	// runner; EchoP50 a bare request/response round trip; both µs.
	DispatchP50, EchoP50 float64
	Samples              int
}

// eventSize is the wire size of one chunk event as the relay sends it in a
// run of chunks of one task: the bytes the second event of a delivery adds
// (the first carries the runner and task IDs the rest share).
func eventSize() int {
	ev := func(seq, index uint64) streams.Event {
		return streams.Event{Stream: "tasks", Seq: seq, RunnerID: "bench-4f9c2a", TaskID: "bench-remote-000001", Kind: "task_chunk",
			At: time.Now(), Payload: &actors.TaskChunk{RunnerID: "bench-4f9c2a", TaskID: "bench-remote-000001", Attempt: 1,
				Chunk: &exov1.ChunkGenerated{TaskId: "bench-remote-000001", Index: index,
					Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "tok12345 ", TokenId: uint32(index)}}}}}
	}
	var one, two gateway.Packer
	one.Add([]streams.Event{ev(123456, 12345)})
	two.Add([]streams.Event{ev(123456, 12345), ev(123457, 12346)})
	return len(two.Take()) - len(one.Take())
}

// RemoteClient is the body of the remote client child: it dials the node
// at addr, places a runner of kind "bench" there and measures, alternating
// floor and measured samples so both see the same machine.
func RemoteClient(ctx context.Context, addr string, s Sizes) (RemoteMeasure, error) {
	c, err := exo.Dial(ctx, addr, exo.WithClientName("bench"))
	if err != nil {
		return RemoteMeasure{}, err
	}
	defer c.Close()
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "bench"})
	if err != nil {
		return RemoteMeasure{}, err
	}
	// The first task waits for the runner to be Ready.
	if _, err := remoteNoop(ctx, c, id, "bench-remote-warm"); err != nil {
		return RemoteMeasure{}, err
	}
	m := RemoteMeasure{EventSize: eventSize(), Samples: s.DispatchSamples}
	n := s.Tokens
	var rates, blasts []float64
	for rep := 0; rep <= s.EventReps; rep++ { // rep 0 warms up
		start := time.Now()
		got, err := c.Blast(ctx, n, m.EventSize)
		if err != nil || got != n {
			return m, fmt.Errorf("blast: %d of %d arrived: %v", got, n, err)
		}
		blast := float64(n) / time.Since(start).Seconds()
		rate, err := remoteEvents(ctx, c, id, taskID("bench-remote", rep), n)
		if err != nil {
			return m, err
		}
		if rep > 0 {
			rates, blasts = append(rates, rate), append(blasts, blast)
		}
	}
	m.EventsRate, m.BlastRate = median(rates), median(blasts)
	var echo, disp []float64
	for i := 0; i < s.DispatchWarmup+s.DispatchSamples; i++ {
		start := time.Now()
		if err := c.Echo(ctx); err != nil {
			return m, err
		}
		e := time.Since(start)
		d, err := remoteNoop(ctx, c, id, taskID("bench-remote-noop", i))
		if err != nil {
			return m, err
		}
		if i >= s.DispatchWarmup {
			echo, disp = append(echo, inUnit(e, time.Microsecond)), append(disp, inUnit(d, time.Microsecond))
		}
	}
	m.EchoP50, m.DispatchP50 = percentile(echo, 50), percentile(disp, 50)
	_, err = c.StopRunner(ctx, id)
	return m, err
}

// remoteEvents submits a task of n tokens and reads its n chunk events from
// a subscription to the node's tasks topic; it returns events per second.
func remoteEvents(ctx context.Context, c *exo.Client, runnerID, id string, n int) (float64, error) {
	sub, err := c.Subscribe(exo.TopicTasks, exo.Filter{TaskID: id, Kinds: []string{"task_chunk"}},
		exo.SubscribeOptions{Window: 1024, Buffer: n + 64})
	if err != nil {
		return 0, err
	}
	defer sub.Close()
	start := time.Now()
	h, err := c.Submit(ctx, runnerID, exo.Task{ID: id, Kind: "text_generation", Params: map[string]string{"max_tokens": fmt.Sprint(n)}})
	if err != nil {
		return 0, err
	}
	// Read as the events rows do (NextBatch: what the stream handed over in
	// one go), checking that every chunk of the task comes, in order.
	var batch []exo.StreamEvent
	for got := 0; got < n; {
		batch, err = sub.NextBatch(ctx, batch[:0], 0)
		if err != nil {
			return 0, fmt.Errorf("remote events: after %d of %d: %w", got, n, err)
		}
		for i := range batch {
			ev := &batch[i]
			if ev.Gap != nil {
				return 0, fmt.Errorf("remote events: a gap of %d after %d of %d (the subscriber's buffer is sized to hold them all)", ev.Gap.Dropped, got, n)
			}
			tc, ok := ev.Payload.(exo.TaskChunk)
			if !ok || tc.TaskID != id || tc.Chunk.Index != uint64(got) {
				return 0, fmt.Errorf("remote events: event %d (%s %T) is not chunk %d of task %s", ev.Seq, ev.Kind, ev.Payload, got, id)
			}
			got++
		}
		clear(batch) // let the payloads go
	}
	rate := float64(n) / time.Since(start).Seconds()
	if o, err := h.Wait(ctx); err != nil || o.Status != exo.TaskComplete {
		return 0, fmt.Errorf("remote events task: %+v, %v", o, err)
	}
	return rate, nil
}

func remoteNoop(ctx context.Context, c *exo.Client, runnerID, id string) (time.Duration, error) {
	start := time.Now()
	h, err := c.Submit(ctx, runnerID, exo.Task{ID: id, Kind: "noop"})
	if err != nil {
		return 0, err
	}
	o, err := h.Wait(ctx)
	if err != nil {
		return 0, err
	}
	if o.Status != exo.TaskComplete {
		return 0, fmt.Errorf("noop task %s ended %s: %s", id, o.Status, o.Reason)
	}
	return time.Since(start), nil
}

// remote measures remote_events and remote_dispatch_p50 across three
// processes: this one starts a node (`exo-actors node`) and a client child
// (`exo-actors bench-remote-client`), one protoactor Remote each; the local
// dispatch p50 that is part of the dispatch floor is measured here, in the
// same run, on an embedded System.
func (b *bencher) remote(ctx context.Context) (res []Result, err error) {
	dir, err := os.MkdirTemp("", "exo-bench-remote-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	args, _ := json.Marshal(runnerArgs)
	cfg := filepath.Join(dir, "node.json")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`{"kinds": {"bench": {"builtin": true, "args": %s}}}`, args)), 0o600); err != nil {
		return nil, err
	}
	node, err := b.startChild("node", "--listen", "127.0.0.1:0", "--name", "bench", "--config", cfg, "--log-level", "error")
	if err != nil {
		return nil, err
	}
	defer func() {
		_ = node.cmd.Process.Signal(syscall.SIGTERM) // graceful: its runner is stopped, not orphaned
		_, _ = node.wait()
		node.stop()
	}()
	line, err := bufio.NewReader(node.out).ReadString('\n')
	f := strings.Fields(line)
	if err != nil || len(f) < 5 || f[2] != "listening" {
		return nil, fmt.Errorf("bench node: first line %q, %v", line, err)
	}
	addr := f[4]

	local, err := b.localDispatchP50(ctx)
	if err != nil {
		return nil, err
	}
	cl, err := b.startChild("bench-remote-client", addr, fmt.Sprint(b.sizes.Tokens), fmt.Sprint(b.sizes.EventReps),
		fmt.Sprint(b.sizes.DispatchSamples), fmt.Sprint(b.sizes.DispatchWarmup))
	if err != nil {
		return nil, err
	}
	defer cl.stop()
	var m RemoteMeasure
	if err := json.NewDecoder(cl.out).Decode(&m); err != nil {
		_, werr := cl.wait()
		return nil, fmt.Errorf("bench remote client: %v (%v)", err, exitedCleanly(werr))
	}
	if _, err := cl.wait(); err != nil {
		return nil, fmt.Errorf("bench remote client: %w", exitedCleanly(err))
	}
	note := fmt.Sprintf("%d chunk events of %d B; floor: raw remote messages of that size", b.sizes.Tokens, m.EventSize)
	dnote := fmt.Sprintf("%d samples; floor: remote round trip p50 %.0fus + local dispatch p50 %.0fus", m.Samples, m.EchoP50, local)
	return []Result{
		newResult(RowRemoteEvents, m.EventsRate, m.BlastRate, "events/s", goal(0.8), AtLeast, note),
		newResult(RowRemoteDispatchP50, m.DispatchP50, m.EchoP50+local, "us", goal(1.3), AtMost, dnote),
	}, nil
}

// localDispatchP50 is the local dispatch p50 (Submit → Complete of a noop
// task on an embedded System), in µs.
func (b *bencher) localDispatchP50(ctx context.Context) (p50 float64, err error) {
	w := newWatcher()
	sys, err := b.newSystem(w.hook, exo.ErrorPolicy{})
	if err != nil {
		return 0, err
	}
	defer func() { err = errJoin(err, shutdownSystem(sys)) }()
	id, _, err := b.spawnReady(ctx, sys, w)
	if err != nil {
		return 0, err
	}
	var xs []float64
	for i := 0; i < b.sizes.DispatchWarmup+b.sizes.DispatchSamples; i++ {
		d, err := submitNoop(ctx, sys, id, taskID("bench-remote-local", i))
		if err != nil {
			return 0, err
		}
		if i >= b.sizes.DispatchWarmup {
			xs = append(xs, inUnit(d, time.Microsecond))
		}
	}
	return percentile(xs, 50), nil
}

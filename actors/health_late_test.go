package actors_test

import (
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/health"
)

// TestHealthLateCheckDoesNotJudgeHeartbeat: a check that runs late by more
// than its interval (the node was paused or starved: SIGSTOP, a long GC, a
// loaded machine) does not judge heartbeat age, which then measures the
// node's own stall while the runner's heartbeats wait unread in its pipe.
// Before, a 10 s SIGSTOP of the node raised a false HIGH "unhealthy: no
// heartbeat for 10.283s" alert for a healthy runner, resolved a second
// later. The next check on time judges again: a runner really silent is
// still found.
//
// The runner heartbeats once an hour here, so its last frame is its Ready
// (deterministic: no heartbeat races the stepped clock).
func TestHealthLateCheckDoesNotJudgeHeartbeat(t *testing.T) {
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second, HeartbeatGrace: 2 * time.Second, HeartbeatLimit: 4 * time.Second},
		func(c *actors.NodeConfig) {
			c.Timeouts.HeartbeatInterval = time.Hour
			c.Timeouts.HeartbeatTimeout = 4 * time.Hour
		})
	id := readyRunner(t, n)
	step(t, fc, checks, time.Second) // on time: heartbeat age 1s, healthy
	if r := runnerHealth(t, n, id); r.State != actors.RunnerLive || r.Level != health.Healthy {
		t.Fatalf("before the pause: %s %s (%s); want live and healthy", r.State, r.Level, r.Reason)
	}
	// The node paused 10 s: its tick, 9 s late, runs once. (An Advance of
	// 10 s ran the tick from 1 s on, on time, as often as the monitor
	// re-armed it within the Advance, and the step could return on a check
	// before the last: 1 run in the full suite judged the next check's
	// state before it was made.)
	stepJump(t, fc, checks, 10*time.Second)
	r := runnerHealth(t, n, id)
	if r.Level != health.Healthy {
		t.Errorf("the check late after a node pause judged the heartbeat: %s %.3f (%s); want healthy", r.Level, r.Value, r.Reason)
	}
	for _, a := range healthAlerts(n.rec.snapshot(), id) {
		t.Errorf("alert after a node pause: %+v", a)
	}
	step(t, fc, checks, time.Second) // on time again: 12 s without a frame is judged
	if r := runnerHealth(t, n, id); r.Level != health.Unhealthy {
		t.Errorf("the next check on time did not judge a runner silent for 12s: %s %.3f (%s); want unhealthy", r.Level, r.Value, r.Reason)
	}
}

package health_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/health"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func st(k exov1.RunnerStatusKind) *exov1.RunnerStatus { return &exov1.RunnerStatus{Kind: k} }

var (
	ready   = st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY)
	failed  = st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED)
	loading = &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING, LayersLoaded: 2, TotalLayers: 4}
)

func cfg() health.Config { return health.Config{}.WithDefaults(5 * time.Second) }

func TestStatusValue(t *testing.T) {
	for _, c := range []struct {
		st         *exov1.RunnerStatus
		restarting bool
		want       float64
	}{
		{ready, false, 1},
		{st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING), false, 1},
		{st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED), false, 0.9},
		{st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_WARMING_UP), false, 0.9},
		{loading, false, 0.7},
		{st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING), false, 0.5},
		{st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTED), false, 0.5},
		{st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING), false, 0.4},
		{st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE), false, 0.3},
		{st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN), false, 0.5},
		{st(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN), false, 0},
		{failed, false, 0},
		{failed, true, 0.2},
		{nil, false, 0},
	} {
		if got := health.StatusValue(c.st, c.restarting); got != c.want {
			t.Errorf("StatusValue(%v, restarting=%v) = %v, want %v", c.st.GetKind(), c.restarting, got, c.want)
		}
	}
}

func TestCompute(t *testing.T) {
	good := health.Inputs{Alive: true, HeartbeatAge: 200 * time.Millisecond, Status: ready}
	with := func(f func(*health.Inputs)) health.Inputs { in := good; f(&in); return in }
	mib := uint64(1 << 20)
	for _, c := range []struct {
		name   string
		cfg    func(*health.Config)
		in     health.Inputs
		want   float64
		comp   health.Components
		level  health.Level
		reason string
	}{
		{name: "all good", in: good, want: 1, comp: health.Components{1, 1, 1, 1}, level: health.Healthy},
		{name: "dead process", in: with(func(i *health.Inputs) { i.Alive = false }), want: 0, comp: health.Components{0, 1, 1, 1}, level: health.Unhealthy, reason: "process not running"},
		{name: "zombie", in: with(func(i *health.Inputs) { i.Zombie = true }), want: 0, comp: health.Components{0, 1, 1, 1}, level: health.Unhealthy, reason: "zombie"},
		// grace 1s, limit 2.5s: 1.75s is half way → heartbeat 0.5 → process 0.75 → 0.4·0.75+0.6 = 0.9.
		{name: "heartbeat half stale", in: with(func(i *health.Inputs) { i.HeartbeatAge = 1750 * time.Millisecond }), want: 0.9, comp: health.Components{0.75, 1, 1, 1}, level: health.Healthy},
		// 2.2s: heartbeat 0.2 → process 0.6 → 0.84.
		{name: "heartbeat nearly silent", in: with(func(i *health.Inputs) { i.HeartbeatAge = 2200 * time.Millisecond }), want: 0.84, comp: health.Components{0.6, 1, 1, 1}, level: health.Healthy},
		{name: "silent: score 0", in: with(func(i *health.Inputs) { i.HeartbeatAge = 2500 * time.Millisecond }), want: 0, comp: health.Components{0, 1, 1, 1}, level: health.Unhealthy, reason: "no heartbeat for 2.5s"},
		{name: "loading half", in: with(func(i *health.Inputs) { i.Status = loading }), want: 0.94, comp: health.Components{1, 0.7, 1, 1}, level: health.Healthy},
		{name: "failed status", in: with(func(i *health.Inputs) { i.Status = failed }), want: 0.8, comp: health.Components{1, 0, 1, 1}, level: health.Healthy},
		{name: "waiting to restart", in: with(func(i *health.Inputs) { i.Status = failed; i.Restarting = true }), want: 0.84, comp: health.Components{1, 0.2, 1, 1}, level: health.Healthy},
		// 1 of 2 in error, 2 errors: 0.5-0.1 = 0.4 → 0.4+0.2+0.08+0.2 = 0.88.
		{name: "resources in error", in: with(func(i *health.Inputs) { i.Resources, i.ResourcesInError, i.ResourceErrors = 2, 1, 2 }), want: 0.88, comp: health.Components{1, 1, 0.4, 1}, level: health.Healthy},
		{name: "all resources in error", in: with(func(i *health.Inputs) { i.Resources, i.ResourcesInError, i.ResourceErrors = 2, 2, 20 }), want: 0.8, comp: health.Components{1, 1, 0, 1}, level: health.Healthy},
		// 5 failures (budget 5): rate 0; 1 of 2 restarts succeeded: 0.5 → errors 0.25 → 0.85.
		{name: "errors", in: with(func(i *health.Inputs) { i.Failures, i.RecoveriesSucceeded, i.RecoveriesFailed = 5, 1, 1 }), want: 0.85, comp: health.Components{1, 1, 1, 0.25}, level: health.Healthy},
		{name: "everything bad but alive", in: with(func(i *health.Inputs) {
			i.Status, i.Resources, i.ResourcesInError, i.Failures, i.RecoveriesFailed = failed, 1, 1, 9, 3
		}), want: 0.4, comp: health.Components{1, 0, 0, 0}, level: health.Unhealthy},
		{name: "status and errors bad", in: with(func(i *health.Inputs) { i.Status, i.Failures = failed, 5 }), want: 0.7, comp: health.Components{1, 0, 1, 0.5}, level: health.Degraded, reason: "status"},
		// RSS limit 100 MiB: 90 MiB is half way from 80% → memory 0.5 → process 0.875 → 0.95.
		{name: "rss high", cfg: func(c *health.Config) { c.RSSLimit = 100 * mib }, in: with(func(i *health.Inputs) { i.RSS = 90 * mib }), want: 0.95, comp: health.Components{0.875, 1, 1, 1}, level: health.Healthy},
		{name: "rss trend", in: with(func(i *health.Inputs) { i.RSSHistory = []uint64{100, 102, 104, 106, 108, 111} }), want: 0.975, comp: health.Components{0.938, 1, 1, 1}, level: health.Healthy},
		{name: "rss flat is no trend", in: with(func(i *health.Inputs) { i.RSSHistory = []uint64{100, 102, 102, 106, 108, 111} }), want: 1, comp: health.Components{1, 1, 1, 1}, level: health.Healthy},
		// CPU limit 1 core, using 1.5: cpu 0.5 → process 0.875.
		{name: "cpu over limit", cfg: func(c *health.Config) { c.CPULimit = 1 }, in: with(func(i *health.Inputs) { i.CPU = 1.5 }), want: 0.95, comp: health.Components{0.875, 1, 1, 1}, level: health.Healthy},
		{name: "custom weights", cfg: func(c *health.Config) {
			c.Weights = health.Weights{Process: 0.25, Status: 0.25, Resources: 0.25, Errors: 0.25}
		},
			in: with(func(i *health.Inputs) { i.Status = failed }), want: 0.75, comp: health.Components{1, 0, 1, 1}, level: health.Degraded},
	} {
		t.Run(c.name, func(t *testing.T) {
			cf := cfg()
			if c.cfg != nil {
				c.cfg(&cf)
			}
			s := health.Compute(cf, c.in)
			if s.Value != c.want || s.Components != c.comp || s.Level != c.level {
				t.Errorf("got %v %+v %s, want %v %+v %s", s.Value, s.Components, s.Level, c.want, c.comp, c.level)
			}
			if !strings.Contains(s.Reason, c.reason) || (c.level == health.Healthy) != (s.Reason == "") {
				t.Errorf("reason %q, want one containing %q (empty only when healthy)", s.Reason, c.reason)
			}
		})
	}
}

func TestLevels(t *testing.T) {
	c := cfg()
	for s, want := range map[float64]health.Level{1: health.Healthy, 0.8: health.Healthy, 0.79: health.Degraded, 0.5: health.Degraded, 0.49: health.Unhealthy, 0: health.Unhealthy} {
		if got := c.LevelOf(s); got != want {
			t.Errorf("LevelOf(%v) = %s, want %s", s, got, want)
		}
	}
}

func TestNodeScore(t *testing.T) {
	c := cfg()
	scores := map[string]health.Score{
		"a": {Value: 1, Level: health.Healthy},
		"b": {Value: 0.4, Level: health.Unhealthy},
		"c": {Value: 0.7, Level: health.Degraded},
		"d": {Value: 0, Level: health.Unhealthy}, // stopped: not counted
	}
	n := c.Node(scores, map[string]bool{"a": true, "b": true, "c": true})
	if n.Value != 0.7 || n.Level != health.Degraded || n.Counted != 3 || n.Worst != "b" || n.WorstScore != 0.4 || n.Unhealthy != 1 || n.RunnersSeen != 4 {
		t.Errorf("node score %+v", n)
	}
	if n := c.Node(scores, nil); n.Value != 1 || n.Level != health.Healthy || n.Counted != 0 {
		t.Errorf("no counted runners: %+v, want 1 healthy", n)
	}
}

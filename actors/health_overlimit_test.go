package actors_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/health"
)

// gaugeOf reads the series of metric name whose label is value; ok false
// when there is none.
func gaugeOf(t *testing.T, n *testNode, name, label, value string) (v float64, ok bool) {
	t.Helper()
	fams, err := n.Metrics().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == label && l.GetValue() == value {
					if c := m.GetCounter(); c != nil {
						return c.GetValue(), true
					}
					return m.GetGauge().GetValue(), true
				}
			}
		}
	}
	return 0, false
}

// fakeRSS is a /proc reader whose RSS is set's last value (rss at first),
// the rest read from the process.
func fakeRSS(rss uint64) (read func(int) (health.ProcStat, error), set func(uint64)) {
	var mu sync.Mutex
	read = func(pid int) (health.ProcStat, error) {
		ps, err := health.ReadProc(pid)
		mu.Lock()
		ps.RSS = rss
		mu.Unlock()
		return ps, err
	}
	set = func(b uint64) {
		mu.Lock()
		rss = b
		mu.Unlock()
	}
	return read, set
}

// TestHealthOverLimitAlert: a runner whose RSS reaches RSSLimit stays
// healthy (memory takes at most 0.1 off its score) but raises one MEDIUM
// over_limit alert that names its RSS and the limit, resolved once it is
// back under; exo_runner_rss_bytes shows its RSS. Before, an SRE's trial
// saw a runner at three times its rss_limit scored 0.9 healthy, with no
// alert, no reason and no per-runner memory metric.
func TestHealthOverLimitAlert(t *testing.T) {
	const limit = 100 << 20
	read, setRSS := fakeRSS(50 << 20)
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second, RSSLimit: limit}, actors.WithProcReaderForTest(read))
	id := readyRunner(t, n)
	step(t, fc, checks, time.Second)
	step(t, fc, checks, time.Second)
	if a := healthAlerts(n.rec.snapshot(), id); len(a) != 0 {
		t.Fatalf("alerts under the limit: %+v", a)
	}
	if v, ok := gaugeOf(t, n, "exo_runner_rss_bytes", "runner", id); !ok || v != 50<<20 {
		t.Errorf("exo_runner_rss_bytes %v (listed %v), want %d", v, ok, 50<<20)
	}
	if _, ok := gaugeOf(t, n, "exo_runner_cpu_cores", "runner", id); !ok {
		t.Error("no exo_runner_cpu_cores series for a live runner")
	}

	setRSS(150 << 20)
	for range 3 {
		step(t, fc, checks, time.Second)
	}
	r := runnerHealth(t, n, id)
	if r.Level != health.Healthy || r.Components.Process > 0.75 {
		t.Errorf("over the limit: level %s, process %.3f; want healthy, at most 0.75 (the memory part is 0)", r.Level, r.Components.Process)
	}
	alerts := healthAlerts(n.rec.snapshot(), id)
	want := "over limit: RSS 150.0 MiB at or over its limit of 100.0 MiB (it lowers the score by at most 0.2 and restarts nothing: " +
		"find what grows, or raise HealthSettings.RSSLimit or CPULimit, node config health.rss_limit or health.cpu_limit, if the runner needs that much)"
	if len(alerts) != 1 || alerts[0].Condition != health.ConditionOverLimit || alerts[0].Severity != errhandler.Medium ||
		alerts[0].State != actors.AlertFiring || alerts[0].Reason != want {
		t.Fatalf("alerts over the limit for three checks: %+v; want one MEDIUM over_limit firing, %q", alerts, want)
	}

	setRSS(60 << 20)
	step(t, fc, checks, time.Second)
	alerts = healthAlerts(n.rec.snapshot(), id)
	if len(alerts) != 2 || alerts[1].Condition != health.ConditionOverLimit || alerts[1].State != actors.AlertResolved {
		t.Fatalf("alerts back under the limit: %+v; want the over_limit resolved", alerts)
	}
	if v, _ := gaugeOf(t, n, "exo_runner_rss_bytes", "runner", id); v != 60<<20 {
		t.Errorf("exo_runner_rss_bytes %v, want %d", v, 60<<20)
	}
}

// TestHealthOverLimitAlertNamesTheWeight: the over_limit alert says how
// much memory and CPU can take off the score with the node's own weights
// (half the process weight), not the default's 0.2: with a process weight
// of 0.8 they take up to 0.4, and "at most 0.2" told an operator a runner
// past its limits could not fall below 0.8.
func TestHealthOverLimitAlertNamesTheWeight(t *testing.T) {
	const limit = 100 << 20
	read := func(pid int) (health.ProcStat, error) {
		ps, err := health.ReadProc(pid)
		ps.RSS = 3 * limit
		return ps, err
	}
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second, RSSLimit: limit,
		Weights: health.Weights{Process: 0.8, Status: 0.2}}, actors.WithProcReaderForTest(read))
	id := readyRunner(t, n)
	for range 3 {
		step(t, fc, checks, time.Second)
	}
	alerts := healthAlerts(n.rec.snapshot(), id)
	want := "over limit: RSS 300.0 MiB at or over its limit of 100.0 MiB (it lowers the score by at most 0.4 and restarts nothing: "
	if len(alerts) == 0 || alerts[0].Condition != health.ConditionOverLimit || !strings.HasPrefix(alerts[0].Reason, want) {
		t.Fatalf("alerts: %+v; want an over_limit first, its reason beginning %q", alerts, want)
	}
}

// TestOverLimitHysteresis: a held over_limit alert resolves only once the
// runner is clearly back under (RSS under 90% of RSSLimit), and one under
// the limit raises none: a runner that hovers at its limit (filled to it,
// trimmed, filled again) does not raise and resolve the alert at every
// check, each a webhook call and two log lines (a review).
func TestOverLimitHysteresis(t *testing.T) {
	const limit = 100 << 20
	read, setRSS := fakeRSS(limit)
	n, fc, checks := healthNode(t, health.Config{Interval: time.Second, RSSLimit: limit}, actors.WithProcReaderForTest(read))
	id := readyRunner(t, n)
	states := func() []actors.AlertState {
		var out []actors.AlertState
		for _, a := range healthAlerts(n.rec.snapshot(), id) {
			if a.Condition == health.ConditionOverLimit {
				out = append(out, a.State)
			}
		}
		return out
	}
	want := func(what string, w ...actors.AlertState) {
		t.Helper()
		if got := states(); strings.Join(alertStates(got), ",") != strings.Join(alertStates(w), ",") {
			t.Fatalf("%s: over_limit alerts %v, want %v", what, got, w)
		}
	}
	for _, rs := range []uint64{limit, 99 << 20, limit, 95 << 20, 91 << 20} {
		setRSS(rs)
		step(t, fc, checks, time.Second)
		step(t, fc, checks, time.Second)
	}
	want("at the limit, then between 90% and it", actors.AlertFiring)
	setRSS(89 << 20)
	step(t, fc, checks, time.Second)
	step(t, fc, checks, time.Second)
	want("under 90% of the limit", actors.AlertFiring, actors.AlertResolved)
	setRSS(95 << 20)
	step(t, fc, checks, time.Second)
	step(t, fc, checks, time.Second)
	want("between 90% and the limit, not held", actors.AlertFiring, actors.AlertResolved)
	setRSS(limit)
	step(t, fc, checks, time.Second)
	step(t, fc, checks, time.Second)
	want("at the limit again", actors.AlertFiring, actors.AlertResolved, actors.AlertFiring)
}

func alertStates(s []actors.AlertState) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = string(v)
	}
	return out
}

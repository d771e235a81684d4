package cli

import (
	"context"
	"fmt"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// demoHealthInterval is the health monitor's check interval in the demo.
const demoHealthInterval = 500 * time.Millisecond

func (o demoOptions) checkHealthFlags() error {
	if err := checkHTTPFlag(o.http, o.httpAny, o.httpHost); err != nil { // node_http.go
		return err
	}
	if err := checkAddrsApart(o.http, "--ui", o.ui.addr); err != nil {
		return err
	}
	if o.hold < 0 {
		return usageErrorf("--hold %s: want a duration ≥ 0", o.hold)
	}
	if o.hold > 0 && o.http == "" && o.ui.addr == "" {
		return usageErrorf("--hold needs --http or --ui: it keeps the HTTP endpoints or the page up after the scenario")
	}
	return nil
}

// healthConfig is the demo's health monitor: a check every 500 ms, so a hung
// runner is recovered (after 3 unhealthy checks) before its own heartbeat
// watchdog (5 s) fails it.
func (o demoOptions) healthConfig() exo.HealthConfig {
	return exo.HealthConfig{HealthSettings: exo.HealthSettings{Interval: demoHealthInterval}, HTTP: exo.HTTPConfig{Addr: o.http, AllowHosts: o.httpHost}}
}

// printHealth prints the health events of the runner the hang scenario
// watches (called under w.mu).
func (w *demoWatch) printHealth(ts string, ev exo.Event) {
	switch e := ev.(type) {
	case exo.HealthChanged:
		if e.RunnerID == w.health && e.From != 0 {
			reason := ""
			if e.Score.Reason != "" {
				reason = " (" + e.Score.Reason + ")"
			}
			fmt.Fprintf(w.out, "%s  %-18s health %s → %s, score %.3f%s\n", ts, e.RunnerID, e.From, e.To, e.Score.Value, reason)
		}
	case exo.HealthAlert:
		if e.RunnerID == w.health {
			fmt.Fprintf(w.out, "%s  %-18s ALERT %s %s %s: %s\n", ts, e.RunnerID, e.Severity, e.Condition, e.State, e.Reason)
		}
	}
}

// demoHang makes a healthy runner hang (a task with the fault "hang": it
// stops heartbeating and reading) and shows the health monitor at work: the
// score falls below the threshold, the recovery restarts it through the
// supervisor, and it is Ready and healthy again. With --hold it then keeps
// the endpoints up.
func demoHang(ctx context.Context, w *demoWatch, sys *exo.System, o demoOptions) ([]*exo.TaskHandle, error) {
	infos, err := sys.Runners(ctx)
	if err != nil {
		return nil, err
	}
	var victim exo.RunnerInfo
	for _, in := range infos {
		if in.Status == exo.StatusReady {
			victim = in
			break
		}
	}
	if victim.ID == "" {
		return nil, fmt.Errorf("demo: no Ready runner to make hang")
	}
	w.mu.Lock()
	w.health = victim.ID
	w.mu.Unlock()
	fmt.Fprintf(w, "\n== %s made to hang (a task with fault=hang: no heartbeat, no output); health checks every %s\n", victim.ID, demoHealthInterval)
	h, err := sys.Submit(ctx, victim.ID, exo.Task{ID: "hang-1", Kind: "text_generation", Params: map[string]string{"fault": "hang"}})
	if err != nil {
		return nil, err
	}
	handles := []*exo.TaskHandle{h}
	if err := w.waitFor(ctx, victim.ID+" Ready again", func(evs []exo.Event) bool {
		for _, ev := range evs {
			if s, ok := ev.(exo.StatusChanged); ok && s.RunnerID == victim.ID && s.Generation > victim.Generation &&
				s.To == exo.StatusReady {
				return true
			}
		}
		return false
	}); err != nil {
		return handles, err
	}
	if _, err := h.Wait(ctx); err != nil {
		return handles, err
	}
	// Healthy again at a check after the restart.
	if err := w.waitFor(ctx, victim.ID+" healthy", func(evs []exo.Event) bool {
		for i := len(evs) - 1; i >= 0; i-- {
			if c, ok := evs[i].(exo.HealthChanged); ok && c.RunnerID == victim.ID {
				return c.Generation > victim.Generation && c.To.String() == "healthy"
			}
		}
		return false
	}); err != nil {
		return handles, err
	}
	rep, err := sys.Health(ctx)
	if err != nil {
		return handles, err
	}
	for _, r := range rep.Runners {
		if r.RunnerID != victim.ID {
			continue
		}
		for _, rec := range r.Recoveries {
			fmt.Fprintf(w, "%6.2fs  %-18s recovery %d: ", time.Since(w.start).Seconds(), victim.ID, rec.ID)
			for i, s := range rec.Steps {
				if i > 0 {
					fmt.Fprint(w, ", ")
				}
				fmt.Fprintf(w, "%s %s", s.Name, s.Outcome)
			}
			fmt.Fprintf(w, " → %s\n", rec.Outcome)
		}
		fmt.Fprintf(w, "%6.2fs  %-18s generation %d, score %.3f %s; task hang-1 %s\n", time.Since(w.start).Seconds(), victim.ID,
			r.Generation, r.Score.Value, r.Score.Level, taskStatus(h.Outcome().Status))
	}
	w.mu.Lock()
	w.health = ""
	w.mu.Unlock()
	if o.hold > 0 && o.ui.addr == "" { // with --ui, holdUI holds (demo_ui.go)
		fmt.Fprintf(w, "\n== holding for %s: the endpoints stay up (Ctrl-C ends it)\n", o.hold)
		t := time.NewTimer(o.hold)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
	return handles, nil
}

package webui_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/internal/sysnode"
	"github.com/exo-actors/exo-actors/internal/testutil"
	"github.com/exo-actors/exo-actors/internal/webui"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestActionOnARemovedRunner: a button pressed for a runner that is stopped
// for good (stopped, or escalated) says so, not "its process has ended (it
// may be restarting …)" as a trial got for a stopped runner.
func TestActionOnARemovedRunner(t *testing.T) {
	bin := exoBinary(t)
	ev := testutil.NewRecorder[exo.Event]()
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	sys, err := exo.New(exo.Config{Logger: logger, Hook: ev.Hook, BuiltinBinary: bin, Env: append(os.Environ(), markerKey+"="+marker),
		DeadLetterThrottle: time.Millisecond, // its goroutine ends soon after the shutdown (TestMain's goleak)
		ErrorPolicy: exo.ErrorPolicy{Backoff: exo.BackoffConfig{Base: 10 * time.Millisecond, Max: 20 * time.Millisecond},
			Intensity: exo.Intensity{MaxRestarts: 1, Window: time.Minute}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := sys.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stopped, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "llama", Builtin: true, Args: runnerArgs})
	if err != nil {
		t.Fatal(err)
	}
	// Crashes while loading, every time: one restart, then it escalates.
	escalated, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "broken", Builtin: true, Args: append(append([]string(nil), runnerArgs...), "--fault", "crash-loading:1")})
	if err != nil {
		t.Fatal(err)
	}
	ev.Wait(t, 30*time.Second, stopped+" Ready", readyAt(stopped, 1))
	if _, err := sys.StopRunner(ctx, stopped); err != nil {
		t.Fatal(err)
	}
	ev.Wait(t, 30*time.Second, escalated+" escalated", func(evs []exo.Event) bool {
		for _, e := range evs {
			if a, ok := e.(exo.Alert); ok && a.RunnerID == escalated {
				return true
			}
		}
		return false
	})
	node := webui.NodeOf(sysnode.Of(sys))
	removed := func(id string) bool {
		infos, err := node.Runners(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range infos {
			if in.ID == id {
				return in.Removed()
			}
		}
		return false
	}
	if !removed(stopped) {
		t.Fatalf("%s not removed after StopRunner", stopped)
	}
	h := webui.Handler(node, webui.Config{Actions: true})
	post := func(path, body string) (int, string) {
		r := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080"+path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		var out struct{ Error string }
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out.Error
	}
	if code, msg := post("/api/runners/"+stopped+"/fault", `{"kind":"crash","generation":1}`); code != http.StatusConflict ||
		msg != "runner "+stopped+" is stopped for good: it has no process and will not restart (the page lists it until the node forgets it)" {
		t.Errorf("crash on a stopped runner: %d %q", code, msg)
	}
	if code, msg := post("/api/runners/"+stopped+"/stop", `{"generation":1}`); code != http.StatusConflict || !strings.Contains(msg, "is stopped for good") {
		t.Errorf("stop on a stopped runner: %d %q", code, msg)
	}
	// The supervisor retires an escalated runner before it emits the Alert.
	if !removed(escalated) {
		t.Fatalf("%s not removed after its escalation's alert", escalated)
	}
	if code, msg := post("/api/runners/"+escalated+"/fault", `{"kind":"hang","generation":2}`); code != http.StatusConflict ||
		!strings.Contains(msg, "runner "+escalated+" is stopped for good: it escalated at generation 2 (exit_nonzero): it has no process") {
		t.Errorf("hang on an escalated runner: %d %q", code, msg)
	}
}

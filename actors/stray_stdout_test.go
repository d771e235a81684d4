package actors_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// helperStrayStdout is a runner, written with the frame package alone, that
// prints text to stdout (a stray print) before its Hello or after Ready, and
// otherwise speaks the protocol: it heartbeats every 10 ms until killed.
func helperStrayStdout(when, text string) int {
	var mu sync.Mutex // one writer at a time: heartbeats come from a goroutine
	w := frame.NewWriter(os.Stdout)
	send := func(env *exov1.RunnerEnvelope) {
		mu.Lock()
		defer mu.Unlock()
		if err := w.Write(env); err != nil {
			os.Exit(1)
		}
	}
	print := func() {
		mu.Lock()
		defer mu.Unlock()
		os.Stdout.WriteString(text)
	}
	if when == "before-hello" {
		print()
	}
	send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Hello{Hello: &exov1.Hello{MinVersion: 1, MaxVersion: 1, Pid: int32(os.Getpid())}}})
	r := frame.NewReader(os.Stdin)
	var in exov1.SupervisorEnvelope
	if err := r.Read(&in); err != nil || in.GetHelloAccepted() == nil {
		return 1
	}
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		for seq := uint64(1); ; seq++ {
			<-tick.C
			send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: seq}}})
		}
	}()
	for _, k := range []exov1.RunnerStatusKind{exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING,
		exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED, exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY} {
		send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{Status: &exov1.RunnerStatus{Kind: k, TotalLayers: 1}}}})
	}
	if when == "after-ready" {
		print()
	}
	for {
		if err := r.Read(&in); err != nil {
			return 0
		}
	}
}

// TestStrayStdout: a runner that prints text to stdout, before Hello or
// after Ready, short or long, fails with a diagnosis that shows the text and
// says what to do — classified not_a_runner (before Hello) or garbage (after),
// never hang or handshake_timeout (what it was before issue 19: a short line
// before Hello waited for a frame of the length its first byte declared until
// the handshake timeout; one after Ready, until the hang detector).
func TestStrayStdout(t *testing.T) {
	line21 := "generated 20 tokens.\n"
	line48 := "Loading weights from /models/llama-3b (8 layers)\n"
	line220 := strings.Repeat("token stream debug output ", 8) + "- end of a very long line\n"
	cases := []struct {
		name, when, text string
		kind             errhandler.Kind
		excerpt          string
	}{
		{"before Hello, short", "before-hello", "ok\n", errhandler.KindNotARunner, `"ok"`},
		{"before Hello, long", "before-hello", line48, errhandler.KindNotARunner, strconv.Quote(strings.TrimSuffix(line48, "\n"))},
		{"after Ready, short", "after-ready", "ok\n", errhandler.KindGarbage, `"ok"`},
		{"after Ready, 21 chars", "after-ready", line21, errhandler.KindGarbage, strconv.Quote(strings.TrimSuffix(line21, "\n"))},
		{"after Ready, 220 chars", "after-ready", line220, errhandler.KindGarbage, strconv.Quote(line220[:80]) + "…"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			n := startNode(t)
			id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "stray", Command: helperBinary(t),
				Env: []string{"EXO_ACTORS_HELPER=stray-stdout", "STRAY_WHEN=" + c.when, "STRAY_TEXT=" + c.text}})
			if err != nil {
				t.Fatal(err)
			}
			evs := n.rec.waitFor(t, 20*time.Second, "failure", failed(id))
			f := failures(evs, id)[0]
			if f.Kind == errhandler.KindHang || f.Kind == errhandler.KindHandshakeTimeout {
				t.Fatalf("misdiagnosed as %s: %s", f.Kind, f.Message)
			}
			if f.Kind != c.kind {
				t.Errorf("kind = %s, want %s (%s)", f.Kind, c.kind, f.Message)
			}
			want := "stdout is not frames: " + c.excerpt + " (" + frame.TextHint + ")"
			if !strings.Contains(f.Message, want) {
				t.Errorf("message = %q\nwant it to contain %q", f.Message, want)
			}
			// A print's advice is about prints; the SDK's version is for
			// bodies that do not decode (a new user's Java runner).
			if f.Kind == errhandler.KindGarbage && strings.Contains(f.Error(), "SDK") {
				t.Errorf("text = %q\nwant no advice about an SDK's version for a print", f.Error())
			}
			t.Logf("%s: %s", f.Kind, f.Error())
		})
	}
}

// helperFailedDiagnostics says Hello, reports Ready, then Failed with its own
// error message and diagnostics (a traceback), sends TerminationError and
// exits 1, as the Python SDK does on an uncaught exception.
func helperFailedDiagnostics() int {
	w := frame.NewWriter(os.Stdout)
	status := func(st *exov1.RunnerStatus) {
		_ = w.Write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{Status: st}}})
	}
	_ = w.Write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Hello{Hello: &exov1.Hello{MinVersion: 1, MaxVersion: 1}}})
	var in exov1.SupervisorEnvelope
	if err := frame.NewReader(os.Stdin).Read(&in); err != nil {
		return 1
	}
	status(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING, TotalLayers: 1})
	status(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED})
	status(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY})
	status(&exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED, ErrorMessage: "ValueError: boom",
		Diagnostics: "Traceback (most recent call last):\n  File \"runner.py\", line 3, in load\nValueError: boom\n"})
	_ = w.Write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TerminationError{TerminationError: &exov1.TerminationError{Message: "ValueError: boom"}}})
	os.Stderr.WriteString("ValueError: boom\n")
	return 1
}

// TestRunnerOwnFailureKept: the runner's own Failed(error_message,
// diagnostics) stays in the failure beside the supervisor's diagnosis.
func TestRunnerOwnFailureKept(t *testing.T) {
	n := startNode(t)
	id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "diag", Command: helperBinary(t),
		Env: []string{"EXO_ACTORS_HELPER=failed-diagnostics"}})
	if err != nil {
		t.Fatal(err)
	}
	f := failures(n.rec.waitFor(t, 20*time.Second, "failure", failed(id)), id)[0]
	if f.Kind != errhandler.KindTerminationError || f.RunnerMessage != "ValueError: boom" ||
		!strings.Contains(f.RunnerDiagnostics, "line 3, in load") {
		t.Errorf("failure %s: runner error %q, diagnostics %q", f.Kind, f.RunnerMessage, f.RunnerDiagnostics)
	}
	d := f.Diagnostics()
	for _, want := range []string{"runner reported Failed: ValueError: boom\n", "runner diagnostics:\n  Traceback (most recent call last):\n", "\n  ValueError: boom\n"} {
		if !strings.Contains(d, want) {
			t.Errorf("Diagnostics() lacks %q:\n%s", want, d)
		}
	}
	// And the node's log line of the decision quotes both (before, only a
	// Go host saw the diagnostics).
	var fields logrus.Fields
	n.logs.waitLog(t, 20*time.Second, "the decision's log line", func(e *logrus.Entry) bool {
		if e.Data["runner_id"] == id && e.Message == "runner failure: supervision decision" {
			fields = e.Data
			return true
		}
		return false
	})
	if fields["runner_message"] != "ValueError: boom" || !strings.Contains(fmt.Sprint(fields["runner_diagnostics"]), "line 3, in load") {
		t.Errorf("decision log fields %v: want runner_message and runner_diagnostics", fields)
	}
}

// TestExitReasonQuotesStderr: a runner that dies by itself gets its last
// stderr line (a traceback's last line, say) in the one-line reason.
func TestExitReasonQuotesStderr(t *testing.T) {
	n := startNode(t)
	id, err := n.SpawnRunner(ctxT(t), builtin("--fault", "exit:3"))
	if err != nil {
		t.Fatal(err)
	}
	f := failures(n.rec.waitFor(t, 20*time.Second, "failure", failed(id)), id)[0]
	// The marker line is in the tail unless the stderr reader lagged past
	// the Drain bound on a loaded machine (then its pipe was closed unread).
	if len(f.StderrTail) == 0 {
		t.Skipf("no stderr line was read before the drain bound (reason %q)", f.Message)
	}
	// Whether the stderr reader finished before or after the exit was
	// classified (finishFailure then runs inside fail, or later), the
	// reason quotes the last line.
	want := "runner exited: exitcode=3; last stderr line: " + f.StderrTail[len(f.StderrTail)-1]
	if f.Message != want || f.StderrTail[len(f.StderrTail)-1] != "exo-runner: fault exit now" {
		t.Errorf("reason = %q, want %q (stderr tail %q)", f.Message, want, f.StderrTail)
	}
}

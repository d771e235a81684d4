package actors_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.uber.org/goleak"
	"golang.org/x/sys/unix"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/internal/protocol"
	"github.com/exo-actors/exo-actors/internal/testutil"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// markerKey tags every runner process these tests start, so a scan of
// /proc/*/environ finds exactly them.
const markerKey = "EXO_ACTORS_TEST_MARKER"

var (
	binary string // exo-actors built once, without -race
	marker string // this test process's marker value
)

func TestMain(m *testing.M) {
	if mode := os.Getenv("EXO_ACTORS_HELPER"); mode != "" {
		os.Exit(helperMain(mode))
	}
	marker = fmt.Sprintf("actors-test-%d", os.Getpid())
	dir, err := os.MkdirTemp("", "exo-actors-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if binary, err = testutil.BuildExo(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if left := markedProcesses(marker); len(left) > 0 && code == 0 {
		fmt.Fprintf(os.Stderr, "runner processes left behind: %v\n", left)
		code = 1
	}
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// recorder collects events and lets a test wait for a condition on them.
type recorder struct {
	mu     sync.Mutex
	events []actors.Event
	notify chan struct{} // capacity 1; never closed
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1)} }

func (r *recorder) hook(e actors.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

func (r *recorder) snapshot() []actors.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]actors.Event(nil), r.events...)
}

// waitFor waits until cond holds on the events so far, or fails the test
// after limit (a bound on a wait for an event, not a sleep). Call it from the
// test's goroutine; other goroutines use await.
func (r *recorder) waitFor(t testing.TB, limit time.Duration, what string, cond func([]actors.Event) bool) []actors.Event {
	t.Helper()
	evs, err := r.await(limit, what, cond)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// await is waitFor returning an error, for goroutines other than the test's.
func (r *recorder) await(limit time.Duration, what string, cond func([]actors.Event) bool) ([]actors.Event, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		evs := r.snapshot()
		if cond(evs) {
			return evs, nil
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			return evs, fmt.Errorf("timed out after %s waiting for %s; events:\n%s", limit, what, describe(evs))
		}
	}
}

// pidOf returns the PID of a runner's process generation gen, from its
// ProcessStarted event (0 if none yet).
func pidOf(evs []actors.Event, id string, gen uint64) int {
	for _, e := range evs {
		if p, ok := e.(*actors.ProcessStarted); ok && p.RunnerID == id && p.Generation == gen {
			return p.Pid
		}
	}
	return 0
}

func describe(evs []actors.Event) string {
	var b strings.Builder
	for _, e := range evs {
		switch e := e.(type) {
		case *actors.StatusChanged:
			fmt.Fprintf(&b, "  %s gen %d status %s\n", e.RunnerID, e.Generation, protocol.FormatStatus(e.To))
		case *actors.ProcessStarted:
			fmt.Fprintf(&b, "  %s gen %d started pid %d\n", e.RunnerID, e.Generation, e.Pid)
		case *actors.ProcessExited:
			fmt.Fprintf(&b, "  %s gen %d exited %s\n", e.RunnerID, e.Generation, e.Status)
		case *actors.RunnerFailed:
			fmt.Fprintf(&b, "  %s failed: %v\n", e.Failure.RunnerID, e.Failure)
		case *actors.RunnerStopped:
			fmt.Fprintf(&b, "  %s stopped, ended by %s\n", e.Result.RunnerID, e.Result.EndedBy)
		}
	}
	return b.String()
}

func statuses(evs []actors.Event, id string) []string {
	var out []string
	for _, e := range evs {
		if s, ok := e.(*actors.StatusChanged); ok && s.RunnerID == id {
			out = append(out, protocol.FormatStatus(s.To))
		}
	}
	return out
}

func hasStatus(id string, kind exov1.RunnerStatusKind) func([]actors.Event) bool {
	return func(evs []actors.Event) bool {
		for _, e := range evs {
			if s, ok := e.(*actors.StatusChanged); ok && s.RunnerID == id && s.To.GetKind() == kind {
				return true
			}
		}
		return false
	}
}

func failures(evs []actors.Event, id string) []*actors.RunnerFailure {
	var out []*actors.RunnerFailure
	for _, e := range evs {
		if f, ok := e.(*actors.RunnerFailed); ok && f.Failure.RunnerID == id {
			out = append(out, f.Failure)
		}
	}
	return out
}

func failed(id string) func([]actors.Event) bool {
	return func(evs []actors.Event) bool { return len(failures(evs, id)) > 0 }
}

// fastTimeouts keep every wait of a runner's life short for tests; the
// handshake's is 10 s, the time a loaded machine may take to start the
// race-built test binary as a runner (with 2 s, a clean-clone CI beside
// other test runs saw "never said Hello within 2s" from a helper runner
// that then said it). Tests of the handshake timeout set their own.
func fastTimeouts() actors.RunnerTimeouts {
	return actors.RunnerTimeouts{
		Handshake:         10 * time.Second,
		HeartbeatInterval: 20 * time.Millisecond,
		HeartbeatTimeout:  400 * time.Millisecond,
		ProgressTimeout:   400 * time.Millisecond,
		LoadingStall:      400 * time.Millisecond,
		ExitGrace:         500 * time.Millisecond,
		StopGrace:         500 * time.Millisecond,
		TermWait:          300 * time.Millisecond,
		Drain:             500 * time.Millisecond,
		FrameStall:        150 * time.Millisecond,
	}
}

type testNode struct {
	*actors.Node
	rec  *recorder
	logs *logHook
	// shutdownErrChecked: the test shut the node down itself and checked
	// the error it expected; the cleanup's Shutdown returns the same
	// error and does not report it again.
	shutdownErrChecked bool
}

// logHook keeps log entries for assertions.
type logHook struct {
	mu      sync.Mutex
	entries []*logrus.Entry
	notify  chan struct{} // capacity 1; never closed
}

func (h *logHook) Levels() []logrus.Level { return logrus.AllLevels }
func (h *logHook) Fire(e *logrus.Entry) error {
	h.mu.Lock()
	h.entries = append(h.entries, e)
	h.mu.Unlock()
	select {
	case h.notify <- struct{}{}:
	default:
	}
	return nil
}

// waitLog waits until a log entry satisfies cond, or fails after limit.
func (h *logHook) waitLog(t testing.TB, limit time.Duration, what string, cond func(*logrus.Entry) bool) {
	t.Helper()
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		for _, e := range h.all() {
			if cond(e) {
				return
			}
		}
		select {
		case <-h.notify:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for a log entry: %s", limit, what)
		}
	}
}

func (h *logHook) all() []*logrus.Entry {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*logrus.Entry(nil), h.entries...)
}

func startNode(t testing.TB, mod ...func(*actors.NodeConfig)) *testNode {
	t.Helper()
	return startNodeVia(t, actors.StartNode, mod...)
}

// startNodeUnchecked is startNode for a test that sets timeouts the
// watchdogs would fight on purpose (StartNode refuses them).
func startNodeUnchecked(t testing.TB, mod ...func(*actors.NodeConfig)) *testNode {
	t.Helper()
	return startNodeVia(t, actors.StartNodeUncheckedForTest, mod...)
}

func startNodeVia(t testing.TB, start func(actors.NodeConfig) (*actors.Node, error), mod ...func(*actors.NodeConfig)) *testNode {
	t.Helper()
	rec := newRecorder()
	hook := &logHook{notify: make(chan struct{}, 1)}
	logger := logrus.New()
	logger.SetLevel(logrus.DebugLevel)
	var out bytes.Buffer
	logger.SetOutput(&out)
	logger.AddHook(hook)
	cfg := actors.NodeConfig{
		Logger:             logger,
		Timeouts:           fastTimeouts(),
		Hook:               rec.hook,
		BuiltinBinary:      binary,
		Env:                append(os.Environ(), markerKey+"="+marker),
		DeadLetterThrottle: time.Millisecond,
		RequestTimeout:     30 * time.Second,
	}
	// Issue-5/6 tests look at one process life: a failed runner stays down
	// (SKIP). Supervision tests replace this with restartPolicy.
	cfg.ErrorPolicy.Rules = []errhandler.Rule{{Name: "test: no restarts", Severity: errhandler.High, Action: errhandler.Skip,
		Reason: "tests of a single process life"}}
	for _, m := range mod {
		m(&cfg)
	}
	n, err := start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tn := &testNode{Node: n, rec: rec, logs: hook}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := n.Shutdown(ctx); err != nil && !tn.shutdownErrChecked {
			t.Errorf("shutdown: %v", err)
		}
		if t.Failed() {
			t.Logf("log:\n%s", lastLines(out.String(), 60))
		}
	})
	return tn
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func builtin(args ...string) actors.RunnerSpec {
	base := []string{"--layers", "3", "--layer-delay", "0s", "--warmup-delay", "0s", "--token-delay", "0s"}
	return actors.RunnerSpec{Kind: "builtin", Builtin: true, Args: append(base, args...)}
}

// markedProcesses lists live (non-zombie) processes whose environment holds
// markerKey=value.
func markedProcesses(value string) []int { return testutil.MarkedProcesses(markerKey, value) }

// processState returns the state letter from /proc/PID/stat ("" when gone).
func processState(pid int) string { return testutil.ProcessState(pid) }

// waitGone waits, on the kernel's pidfd notification rather than a sleep,
// until pid has exited (is a zombie or gone), or fails after limit.
func waitGone(t testing.TB, pid int, limit time.Duration) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return // already gone
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(limit.Milliseconds()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd of %d: %v", pid, err)
		}
		if n == 0 {
			t.Fatalf("process %d still alive after %s (state %q)", pid, limit, processState(pid))
		}
		return
	}
}

// spawnHelper spawns a runner of kind that is this test binary in helper
// mode (helperMain) and, with waitReady, waits until it is Ready.
func spawnHelper(t testing.TB, n *testNode, kind, mode string, waitReady bool) string {
	t.Helper()
	// GORACE: a race-built helper that exits sleeps 1 s in os.Exit, past
	// fastTimeouts' stop grace (docs/traps.md).
	id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: kind, Command: helperBinary(t), Env: []string{"EXO_ACTORS_HELPER=" + mode, "GORACE=atexit_sleep_ms=0"}})
	if err != nil {
		t.Fatal(err)
	}
	if waitReady {
		n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	}
	return id
}

// helperBinary is this test binary, run as a helper process.
func helperBinary(t testing.TB) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return self
}

// quietConfig is the configuration of a short-lived node whose test reads
// its events from rec and not its logs: built-in runners from binary,
// marked children, fast timeouts; callers set what else they need.
func quietConfig(rec *recorder) actors.NodeConfig {
	return actors.NodeConfig{
		Logger:             quietLogger(),
		Hook:               rec.hook,
		BuiltinBinary:      binary,
		Env:                append(os.Environ(), markerKey+"="+marker),
		Timeouts:           fastTimeouts(),
		DeadLetterThrottle: time.Millisecond,
	}
}

func quietLogger() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// seededRand returns the random source of a seeded stress test: the seed is
// EXO_ACTORS_SEED when set (to repeat a run), else the clock; it is logged
// with how many rounds (n, what) the test runs.
func seededRand(t testing.TB, n int, what string) *rand.Rand {
	t.Helper()
	seed := time.Now().UnixNano()
	if s := os.Getenv("EXO_ACTORS_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("EXO_ACTORS_SEED=%q: want a decimal integer (the seed a failing run printed)", s)
		}
		seed = v
	}
	t.Logf("seed %d (EXO_ACTORS_SEED=%d to repeat), %d %s", seed, seed, n, what)
	return rand.New(rand.NewSource(seed))
}

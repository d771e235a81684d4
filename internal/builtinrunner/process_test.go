package builtinrunner_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/internal/builtinrunner"
	"github.com/exo-actors/exo-actors/internal/frame"
	"github.com/exo-actors/exo-actors/internal/protocol"
	"github.com/exo-actors/exo-actors/internal/testutil"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// exoBin is the exo-actors binary TestMain builds, without -race.
var exoBin string

// waitLimit bounds every wait; reaching it is a failure, not a timing
// assumption.
const waitLimit = 20 * time.Second

// hbInterval is the heartbeat interval the tests' supervisor asks for.
const hbInterval = 10 * time.Millisecond

// silence is how long a runner must stay silent to count as silent: many
// heartbeat intervals, so a live runner cannot pass for a hung one.
const silence = 20 * hbInterval

func TestMain(m *testing.M) { os.Exit(testMain(m)) }

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "exo-builtinrunner-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if exoBin, err = testutil.BuildExo(dir); err != nil {
		fmt.Fprintln(os.Stderr, "TestMain:", err)
		return 1
	}
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	return code
}

// proc is one `exo-actors runner` process, driven through its pipes with the
// frame package alone.
type proc struct {
	t      *testing.T
	id     string
	cmd    *exec.Cmd
	stdin  *os.File // parent's end of the runner's stdin
	stdout *os.File // parent's end of the runner's stdout
	fw     *frame.Writer
	fr     *frame.Reader
	stderr *lineLog
	waited bool
}

// startRunner starts `exo-actors runner ARGS` in its own process group.
// Cleanup kills the group if the test did not reap the process, reaps it, and
// waits for the stderr reader.
func startRunner(t *testing.T, args ...string) *proc {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, id: "runner-" + t.Name(), stdin: inW, stdout: outR}
	p.cmd = exec.Command(exoBin, append([]string{"runner", "--log-level", "debug"}, args...)...)
	p.cmd.Stdin, p.cmd.Stdout, p.cmd.Stderr = inR, outW, errW
	p.cmd.Env = append(os.Environ(),
		"EXO_ACTORS_TEST_MARKER=builtinrunner-"+t.Name(),
		protocol.EnvRunnerID+"="+p.id)
	err = testutil.StartChild(t, p.cmd)
	for _, f := range []*os.File{inR, outW, errW} { // the child's ends
		_ = f.Close()
	}
	if err != nil {
		_, _, _ = inW.Close(), outR.Close(), errR.Close()
		t.Fatalf("start exo-actors runner: %v", err)
	}
	p.fw, p.fr = frame.NewWriter(inW), frame.NewReader(outR)
	p.stderr = readLines(errR)
	t.Cleanup(p.cleanup)
	return p
}

func (p *proc) cleanup() {
	if !p.waited {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		p.wait()
	}
	_ = p.stdin.Close()
	_ = p.stdout.Close()
	<-p.stderr.done
	if p.t.Failed() {
		p.t.Logf("runner stderr:\n%s", strings.Join(p.stderr.all(), "\n"))
	}
}

// wait reaps the process (once) and returns how it ended.
func (p *proc) wait() syscall.WaitStatus {
	p.t.Helper()
	if !p.waited {
		done := make(chan error, 1)
		go func() { done <- p.cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(waitLimit):
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-done
			p.waited = true
			p.t.Fatalf("runner did not exit within %v; killed it", waitLimit)
		}
		p.waited = true
	}
	return p.cmd.ProcessState.Sys().(syscall.WaitStatus)
}

func (p *proc) expectExit(code int) {
	p.t.Helper()
	if ws := p.wait(); !ws.Exited() || ws.ExitStatus() != code {
		p.t.Fatalf("runner ended with %s, want exit code %d", describeWait(ws), code)
	}
}

func (p *proc) expectSignal(sig syscall.Signal) {
	p.t.Helper()
	if ws := p.wait(); !ws.Signaled() || ws.Signal() != sig {
		p.t.Fatalf("runner ended with %s, want death by %v", describeWait(ws), sig)
	}
}

func describeWait(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "signal " + ws.Signal().String()
	}
	return fmt.Sprintf("exit code %d", ws.ExitStatus())
}

func (p *proc) send(env *exov1.SupervisorEnvelope) {
	p.t.Helper()
	if err := p.fw.Write(env); err != nil {
		p.t.Fatalf("write to runner: %v", err)
	}
}

// read reads the runner's next frame, waiting at most d.
func (p *proc) read(d time.Duration) (*exov1.RunnerEnvelope, error) {
	if err := p.stdout.SetReadDeadline(time.Now().Add(d)); err != nil {
		p.t.Fatal(err)
	}
	env := &exov1.RunnerEnvelope{}
	if err := p.fr.Read(env); err != nil {
		return nil, err
	}
	return env, nil
}

// next returns the runner's next frame other than an unprompted heartbeat.
func (p *proc) next() *exov1.RunnerEnvelope {
	p.t.Helper()
	for {
		env, err := p.read(waitLimit)
		if err != nil {
			p.t.Fatalf("reading the runner's next frame: %v", err)
		}
		if hb := env.GetHeartbeat(); hb != nil && hb.GetPingNonce() == 0 {
			continue
		}
		return env
	}
}

func (p *proc) expect(want ...string) {
	p.t.Helper()
	for i, w := range want {
		if got := describe(p.next()); got != w {
			p.t.Fatalf("frame %d of %d: got %q, want %q", i+1, len(want), got, w)
		}
	}
}

// expectEOF checks that the runner closed its stdout (heartbeats may come
// before).
func (p *proc) expectEOF() {
	p.t.Helper()
	for {
		env, err := p.read(waitLimit)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			p.t.Fatalf("want the end of the runner's stdout, got %v", err)
		}
		if env.GetHeartbeat() == nil {
			p.t.Fatalf("want the end of the runner's stdout, got %s", describe(env))
		}
	}
}

// handshake reads Hello, checks it, and accepts it.
func (p *proc) handshake() {
	p.t.Helper()
	env := p.next()
	h := env.GetHello()
	if h == nil {
		p.t.Fatalf("first frame: got %s, want Hello", describe(env))
	}
	if h.GetMinVersion() != protocol.MinVersion || h.GetMaxVersion() != protocol.MaxVersion ||
		h.GetRunnerId() != p.id || int(h.GetPid()) != p.cmd.Process.Pid {
		p.t.Fatalf("Hello = %v; want versions [%d, %d], runner_id %q, pid %d",
			h, protocol.MinVersion, protocol.MaxVersion, p.id, p.cmd.Process.Pid)
	}
	p.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_HelloAccepted{HelloAccepted: &exov1.HelloAccepted{
		Version: h.GetMaxVersion(), RunnerId: p.id, HeartbeatInterval: durationpb.New(hbInterval)}}})
}

// ready runs the handshake and checks the statuses up to Ready for a runner
// with the given number of layers.
func (p *proc) ready(layers int) {
	p.t.Helper()
	p.handshake()
	p.expect(loadingStatuses(layers, layers)...)
	p.expect("Status Loaded", "Status WarmingUp", "Status Ready")
}

// loadingStatuses lists the statuses from Connecting to Loading(upTo/layers).
func loadingStatuses(upTo, layers int) []string {
	s := []string{"Status Connecting", "Status Connected"}
	for k := 0; k <= upTo; k++ {
		s = append(s, fmt.Sprintf("Status Loading(%d/%d)", k, layers))
	}
	return s
}

// fast are flags that make the runner quick.
var fast = []string{"--layers", "3", "--layer-delay", "1ms", "--warmup-delay", "1ms", "--token-delay", "0"}

func args(extra ...string) []string { return append(append([]string(nil), fast...), extra...) }

func genTask(id string, params map[string]string) *exov1.SupervisorEnvelope {
	return taskOf(id, builtinrunner.KindTextGeneration, params)
}

func taskOf(id, kind string, params map[string]string) *exov1.SupervisorEnvelope {
	return &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: &exov1.Task{
		Id: id, Kind: kind, Params: params}}}
}

func shutdownFrame() *exov1.SupervisorEnvelope {
	return &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Shutdown{Shutdown: &exov1.Shutdown{
		Timeout: durationpb.New(5 * time.Second)}}}
}

func pingFrame(nonce uint64) *exov1.SupervisorEnvelope {
	return &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Ping{Ping: &exov1.Ping{Nonce: nonce}}}
}

func cancelFrame(id string) *exov1.SupervisorEnvelope {
	return &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Cancel{Cancel: &exov1.Cancel{
		Target: &exov1.Cancel_TaskId{TaskId: id}}}}
}

// tokens lists the chunks of an n-token text_generation.
func tokens(id string, n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("Chunk %s #%d %q", id, i, fmt.Sprintf("tok%d ", i))
	}
	if n > 0 {
		s[n-1] += " length"
	}
	return s
}

func started(id string) []string {
	return []string{"Task " + id + " RUNNING", "Status Running", "Ack " + id}
}

func cat(parts ...[]string) []string {
	var all []string
	for _, p := range parts {
		all = append(all, p...)
	}
	return all
}

// describe renders a runner frame on one line for exact comparisons.
func describe(env *exov1.RunnerEnvelope) string { return testutil.DescribeFrame(env) }

// lineLog collects a process's stderr lines; its goroutine ends at EOF.
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	changed chan struct{} // capacity 1: a line arrived
	done    chan struct{} // closed at EOF
}

func readLines(f *os.File) *lineLog {
	l := &lineLog{changed: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(l.done) // sole sender: this reader goroutine
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			l.mu.Lock()
			l.lines = append(l.lines, sc.Text())
			l.mu.Unlock()
			select {
			case l.changed <- struct{}{}:
			default:
			}
		}
	}()
	return l
}

func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

func (l *lineLog) find(substr string) bool {
	for _, line := range l.all() {
		if strings.Contains(line, substr) {
			return true
		}
	}
	return false
}

// waitFor waits until a stderr line contains substr.
func (p *proc) waitFor(substr string) {
	p.t.Helper()
	deadline := time.After(waitLimit)
	for !p.stderr.find(substr) {
		select {
		case <-p.stderr.changed:
		case <-p.stderr.done:
			if !p.stderr.find(substr) {
				p.t.Fatalf("stderr ended without a line containing %q", substr)
			}
		case <-deadline:
			p.t.Fatalf("no stderr line containing %q within %v", substr, waitLimit)
		}
	}
}

func (p *proc) waitMarker(k builtinrunner.FaultKind) { p.t.Helper(); p.waitFor(k.Marker()) }

// ---- the tests ----

// TestRunnerProcess is the acceptance path: handshake, a 20-token
// task, Shutdown, exit 0.
func TestRunnerProcess(t *testing.T) {
	t.Parallel()
	p := startRunner(t, args()...)
	p.ready(3)
	p.send(genTask("t1", nil))
	p.expect(cat(started("t1"), tokens("t1", 20), []string{"Task t1 COMPLETE", "Status Ready"})...)
	p.send(pingFrame(99))
	p.expect("Heartbeat tokens=20 layers=3 completed=1 nonce=99")
	p.send(taskOf("t2", builtinrunner.KindNoop, nil))
	p.expect(cat(started("t2"), []string{"Task t2 COMPLETE", "Status Ready"})...)
	p.send(taskOf("t3", "bogus", nil))
	p.expect(cat(started("t3"), []string{`ErrorChunk t3 #0 unknown task kind "bogus"`,
		`Task t3 FAILED: unknown task kind "bogus"`, "Status Ready"})...)
	p.send(genTask("t4", map[string]string{"max_tokens": "3"}))
	p.expect(cat(started("t4"), tokens("t4", 3), []string{"Task t4 COMPLETE", "Status Ready"})...)
	p.send(shutdownFrame())
	p.expect("Status ShuttingDown", "Status Shutdown")
	p.expectEOF()
	p.expectExit(0)
}

func TestRunnerProcessStdinEOF(t *testing.T) {
	t.Parallel()
	p := startRunner(t, args("--token-delay", "1h")...)
	p.ready(3)
	p.send(genTask("t1", nil))
	p.expect(started("t1")...)
	_ = p.stdin.Close() // the supervisor is gone
	p.expect("Task t1 CANCELLED: supervisor went away")
	p.expectEOF()
	p.expectExit(0)
}

// TestRunnerProcessStdinEOFDuringHelloDelay: a runner still in its
// --hello-delay exits 0 when its stdin closes (the supervisor is gone), at
// once and without a Hello, as a runner must (docs/traps.md: grandchildren
// get no parent-death signal). Before, the delay was a plain sleep that
// read nothing: the runner lived on for the whole delay (here 1h) after
// its supervisor had gone.
func TestRunnerProcessStdinEOFDuringHelloDelay(t *testing.T) {
	t.Parallel()
	p := startRunner(t, args("--hello-delay", "1h")...)
	_ = p.stdin.Close() // the supervisor is gone before the Hello
	p.expectEOF()       // no frame: no Hello
	p.expectExit(0)
	<-p.stderr.done
	if !p.stderr.find("stdin ended during the hello delay") {
		t.Errorf("stderr does not say stdin ended during the hello delay")
	}
}

func TestRunnerProcessRefused(t *testing.T) {
	t.Parallel()
	p := startRunner(t, args()...)
	if p.next().GetHello() == nil {
		t.Fatal("first frame is not Hello")
	}
	p.send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_HelloRefused{HelloRefused: &exov1.HelloRefused{
		Reason: "no common protocol version", SupervisorMinVersion: 5, SupervisorMaxVersion: 7}}})
	p.expectEOF()
	p.expectExit(1)
	<-p.stderr.done
	for _, want := range []string{"runner speaks [1, 1]", "supervisor speaks [5, 7]"} {
		if !p.stderr.find(want) {
			t.Errorf("stderr does not name %q", want)
		}
	}
}

func TestRunnerProcessBadFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--fault", "explode"}, `bad fault "explode": unknown fault "explode"; valid forms: exit:CODE`},
		{[]string{"--fault", "crash-loading:9", "--layers", "8"}, "never fires with 8 layers"},
		{[]string{"--layers", "0"}, "--layers 0: want at least 1"},
		{[]string{"--token-delay", "-1s"}, "token delay -1s"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			p := startRunner(t, tc.args...)
			p.expectEOF()
			p.expectExit(2)
			<-p.stderr.done
			if !p.stderr.find(tc.want) {
				t.Fatalf("stderr does not contain %q", tc.want)
			}
		})
	}
}

func TestFaultExit(t *testing.T) {
	t.Parallel()
	t.Run("flag", func(t *testing.T) {
		t.Parallel()
		p := startRunner(t, args("--fault", "exit:7")...)
		p.ready(3)
		p.waitMarker(builtinrunner.FaultExit)
		p.expectEOF()
		p.expectExit(7)
	})
	t.Run("task", func(t *testing.T) {
		t.Parallel()
		p := startRunner(t, args()...)
		p.ready(3)
		p.send(genTask("t1", map[string]string{"fault": "exit:9"}))
		p.expect(started("t1")...)
		p.expectEOF()
		p.expectExit(9)
	})
}

func TestFaultSignal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		flag bool
	}{
		{"KILL", syscall.SIGKILL, true},
		{"SEGV", syscall.SIGSEGV, true},
		{"ABRT", syscall.SIGABRT, false},
		{"TERM", syscall.SIGTERM, false},
		{"SEGV", syscall.SIGSEGV, false},
	} {
		where := "task"
		if tc.flag {
			where = "flag"
		}
		t.Run(where+"/"+tc.name, func(t *testing.T) {
			t.Parallel()
			spec := "signal:" + tc.name
			if tc.flag {
				p := startRunner(t, args("--fault", spec)...)
				p.ready(3)
				p.waitMarker(builtinrunner.FaultSignal)
				p.expectEOF()
				p.expectSignal(tc.sig)
				return
			}
			p := startRunner(t, args()...)
			p.ready(3)
			p.send(genTask("t1", map[string]string{"fault": spec}))
			p.expect(started("t1")...)
			p.expectEOF()
			p.expectSignal(tc.sig)
		})
	}
}

// expectSilence checks, without sleeping, that the runner went silent: after
// the frames already in the pipe, no frame comes for `silence` (20 heartbeat
// intervals), and none answers the Ping with nonce.
func (p *proc) expectSilence(nonce uint64) {
	p.t.Helper()
	for n := 0; ; n++ {
		if n > 100 {
			p.t.Fatalf("the runner kept sending frames after it should have gone silent")
		}
		env, err := p.read(silence)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return
		}
		if err != nil {
			p.t.Fatalf("want silence, got %v", err)
		}
		if hb := env.GetHeartbeat(); hb == nil || hb.GetPingNonce() == nonce {
			p.t.Fatalf("want silence, got %s", describe(env))
		}
	}
}

func TestFaultHang(t *testing.T) {
	t.Parallel()
	t.Run("flag", func(t *testing.T) {
		t.Parallel()
		p := startRunner(t, args("--fault", "hang")...)
		p.ready(3)
		p.waitMarker(builtinrunner.FaultHang)
		p.send(pingFrame(5))
		p.expectSilence(5)
		// SIGTERM does not end a hung runner: its stdout stays open, silent.
		if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		p.expectSilence(5)
		// Only SIGKILL does; dying by it also shows it was alive until then.
		if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.expectSignal(syscall.SIGKILL)
	})
	t.Run("task", func(t *testing.T) {
		t.Parallel()
		p := startRunner(t, args()...)
		p.ready(3)
		p.send(genTask("t1", map[string]string{"fault": "hang"}))
		p.expect(started("t1")...)
		p.waitMarker(builtinrunner.FaultHang)
		p.send(pingFrame(6))
		p.expectSilence(6)
		if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.expectSignal(syscall.SIGKILL)
	})
}

// heartbeats reads n unprompted heartbeats, failing on any other
// frame.
func (p *proc) heartbeats(n int) []*exov1.Heartbeat {
	p.t.Helper()
	var hbs []*exov1.Heartbeat
	for len(hbs) < n {
		env, err := p.read(waitLimit)
		if err != nil {
			p.t.Fatalf("want heartbeats, got %v", err)
		}
		hb := env.GetHeartbeat()
		if hb == nil {
			p.t.Fatalf("want heartbeats only, got %s", describe(env))
		}
		hbs = append(hbs, hb)
	}
	return hbs
}

func TestFaultHangProgress(t *testing.T) {
	t.Parallel()
	p := startRunner(t, args()...)
	p.ready(3)
	p.send(genTask("t1", map[string]string{"fault": "hang-progress"}))
	p.expect(started("t1")...)
	p.waitMarker(builtinrunner.FaultHangProgress)
	hbs := p.heartbeats(5)
	for i, hb := range hbs {
		if hb.GetTokensProduced() != 0 || (i > 0 && hb.GetSeq() <= hbs[i-1].GetSeq()) {
			t.Fatalf("heartbeat %d = %v: want tokens_produced frozen at 0 and seq rising", i, hb)
		}
	}
	p.send(cancelFrame("t1"))
	p.expect("Task t1 CANCELLED: cancelled by the supervisor", "Status Ready")
	p.send(shutdownFrame())
	p.expect("Status ShuttingDown", "Status Shutdown")
	p.expectEOF()
	p.expectExit(0)
}

func TestFaultGarbage(t *testing.T) {
	t.Parallel()
	p := startRunner(t, args("--fault", "garbage")...)
	p.ready(3)
	p.waitMarker(builtinrunner.FaultGarbage)
	for {
		env, err := p.read(waitLimit)
		if err == nil {
			if env.GetHeartbeat() == nil {
				t.Fatalf("want heartbeats then garbage, got %s", describe(env))
			}
			continue
		}
		var ferr *frame.Error
		if !errors.As(err, &ferr) || !errors.Is(err, frame.ErrBadLength) {
			t.Fatalf("want a *frame.Error (malformed length), got %v", err)
		}
		break
	}
	_ = p.stdin.Close() // the runner carries on until its supervisor goes away
	p.expectExit(0)
}

func TestFaultIgnoreShutdown(t *testing.T) {
	t.Parallel()
	t.Run("forever", func(t *testing.T) {
		t.Parallel()
		p := startRunner(t, args("--fault", "ignore-shutdown:forever")...)
		p.ready(3)
		p.send(shutdownFrame())
		p.waitMarker(builtinrunner.FaultIgnoreShutdown)
		// It does not act on the Shutdown, but lives: heartbeats, nothing else.
		p.heartbeats(5)
		p.send(pingFrame(8))
		p.expect("Heartbeat tokens=0 layers=3 completed=0 nonce=8")
		if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		p.expectEOF()
		if ws := p.wait(); !(ws.Exited() && ws.ExitStatus() == 0) && !(ws.Signaled() && ws.Signal() == syscall.SIGTERM) {
			t.Fatalf("after SIGTERM the runner ended with %s, want exit code 0 or SIGTERM", describeWait(ws))
		}
	})
	t.Run("delay", func(t *testing.T) {
		t.Parallel()
		p := startRunner(t, args("--fault", "ignore-shutdown:20ms")...)
		p.ready(3)
		p.send(shutdownFrame())
		p.waitMarker(builtinrunner.FaultIgnoreShutdown)
		p.expect("Status ShuttingDown", "Status Shutdown")
		p.expectEOF()
		p.expectExit(0)
	})
	t.Run("task", func(t *testing.T) {
		t.Parallel()
		p := startRunner(t, args()...)
		p.ready(3)
		p.send(taskOf("t1", builtinrunner.KindNoop, map[string]string{"fault": "ignore-shutdown:1ms"}))
		p.expect(cat(started("t1"), []string{"Task t1 COMPLETE", "Status Ready"})...)
		p.send(shutdownFrame())
		p.waitMarker(builtinrunner.FaultIgnoreShutdown)
		p.expect("Status ShuttingDown", "Status Shutdown")
		p.expectExit(0)
	})
}

func TestFaultCrashLoading(t *testing.T) {
	t.Parallel()
	p := startRunner(t, args("--layers", "4", "--fault", "crash-loading:2")...)
	p.handshake()
	p.expect(loadingStatuses(2, 4)...)
	p.waitMarker(builtinrunner.FaultCrashLoading)
	p.expectEOF()
	p.expectExit(1)
}

func TestFaultStallLoading(t *testing.T) {
	t.Parallel()
	p := startRunner(t, args("--layers", "4", "--fault", "stall-loading:2")...)
	p.handshake()
	p.expect(loadingStatuses(2, 4)...)
	p.waitMarker(builtinrunner.FaultStallLoading)
	for i, hb := range p.heartbeats(5) {
		if hb.GetLayersLoaded() != 2 {
			t.Fatalf("heartbeat %d = %v: want layers_loaded frozen at 2 (of 4)", i, hb)
		}
	}
	p.send(shutdownFrame())
	p.expect("Status ShuttingDown", "Status Shutdown")
	p.expectEOF()
	p.expectExit(0)
}

func TestFaultCrashAfter(t *testing.T) {
	t.Parallel()
	t.Run("task", func(t *testing.T) {
		t.Parallel()
		p := startRunner(t, args()...)
		p.ready(3)
		p.send(genTask("t1", map[string]string{"fault": "crash-after:5"}))
		p.expect(cat(started("t1"), tokens("t1", 20)[:5])...)
		p.waitMarker(builtinrunner.FaultCrashAfter)
		p.expectEOF()
		p.expectExit(1)
	})
	t.Run("flag", func(t *testing.T) {
		t.Parallel()
		p := startRunner(t, args("--fault", "crash-after:3")...)
		p.ready(3)
		p.send(genTask("t1", map[string]string{"max_tokens": "3"})) // finishes before the crash point
		p.expect(cat(started("t1"), tokens("t1", 3), []string{"Task t1 COMPLETE", "Status Ready"})...)
		p.send(genTask("t2", nil))
		p.expect(cat(started("t2"), tokens("t2", 20)[:3])...)
		p.expectEOF()
		p.expectExit(1)
	})
}

func TestFaultTermination(t *testing.T) {
	t.Parallel()
	t.Run("flag", func(t *testing.T) {
		t.Parallel()
		p := startRunner(t, args("--fault", "termination:model weights corrupt: layer 2")...)
		p.ready(3)
		p.expect("Status Failed(model weights corrupt: layer 2)", "Termination model weights corrupt: layer 2")
		p.expectEOF()
		p.expectExit(1)
	})
	t.Run("task", func(t *testing.T) {
		t.Parallel()
		p := startRunner(t, args()...)
		p.ready(3)
		p.send(genTask("t1", map[string]string{"fault": "termination:device lost"}))
		p.expect(cat(started("t1"), []string{"ErrorChunk t1 #0 device lost", "Task t1 FAILED: device lost",
			"Status Failed(device lost)", "Termination device lost"})...)
		p.expectEOF()
		p.expectExit(1)
	})
}

func TestFaultTaskParamErrors(t *testing.T) {
	t.Parallel()
	p := startRunner(t, args()...)
	p.ready(3)
	p.send(genTask("t1", map[string]string{"fault": "stall-loading:1"}))
	want := "task parameter fault: stall-loading acts during loading; give it with --fault"
	p.expect(cat(started("t1"), []string{"ErrorChunk t1 #0 " + want, "Task t1 FAILED: " + want, "Status Ready"})...)
	p.send(genTask("t2", map[string]string{"max_tokens": "lots"}))
	want = `task parameter max_tokens "lots": want an integer from 0 to 1000000`
	p.expect(cat(started("t2"), []string{"ErrorChunk t2 #0 " + want, "Task t2 FAILED: " + want, "Status Ready"})...)
	_ = p.stdin.Close()
	p.expectExit(0)
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/exo-actors/exo-actors/internal/errjoin"
	"github.com/exo-actors/exo-actors/internal/frame"
	"github.com/exo-actors/exo-actors/internal/pollfd"
	"github.com/exo-actors/exo-actors/internal/protocol"
	"github.com/exo-actors/exo-actors/internal/stackdispatch"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Handler is the runner program: it loads the model and runs tasks.
type Handler interface {
	// Load brings the runner to Ready, reporting its way with s.SetStatus and
	// s.Loading. It runs in a goroutine of its own while the SDK keeps
	// answering the supervisor; ctx ends on Shutdown, when the supervisor goes
	// away, or when Serve's context ends. An error fails the runner.
	Load(ctx context.Context, s *Session) error
	// Run runs one task and streams its output with t.Chunk and t.Finish. Each
	// task runs in a goroutine of its own; ctx ends when the supervisor
	// cancels the task or the runner stops. Return ctx.Err() (or any error)
	// when cancelled; return a *FatalError to end the runner.
	Run(ctx context.Context, t *Task) error
}

// ShutdownHook is implemented by a Handler that wants to see a Shutdown
// request before the SDK acts on it. The SDK calls BeforeShutdown in a
// goroutine of its own when the Shutdown frame arrives, keeps heartbeating and
// answering Pings meanwhile, and starts shutting down when it returns. ctx ends
// when the supervisor goes away or Serve's context ends.
type ShutdownHook interface {
	BeforeShutdown(ctx context.Context)
}

// DefaultStopGrace is how long Serve waits for handlers to return after
// cancelling them because stdin ended, Serve's context ended or the runner
// failed.
const DefaultStopGrace = 2 * time.Second

// Option configures Serve.
type Option func(*config)

type config struct {
	in           io.Reader
	out          io.Writer
	minVersion   uint32
	maxVersion   uint32
	capabilities []string
	logger       *slog.Logger
	grace        time.Duration
	signals      int // signalsDefault, signalsOn, signalsOff
}

const (
	signalsDefault = iota // on when Serve reads os.Stdin (a runner process)
	signalsOn
	signalsOff
)

// SignalGrace bounds how long Serve waits for cancelled handlers after
// SIGTERM or SIGINT (and WithStopGrace if shorter): the supervisor sends
// SIGTERM when the runner did not exit on its Shutdown frame, or first to a
// runner still in its handshake, and SIGKILL after timeouts.term_wait (2 s
// by default). Waiting the stop grace of 2 s there raced that SIGKILL.
const SignalGrace = time.Second

// WithSignals sets whether Serve stops on SIGTERM and SIGINT as on its
// context's end, waiting at most SignalGrace for the handlers, and returns
// nil once they returned (so the process exits 0, as the supervisor
// expects of a runner stopped by SIGTERM; ErrAbandoned when they ignore
// their cancellation). It is on by default when Serve reads os.Stdin (a
// runner process, WithIO(os.Stdin, …) included), off when it reads
// anything else (Serve inside another program).
func WithSignals(on bool) Option {
	return func(c *config) {
		c.signals = signalsOff
		if on {
			c.signals = signalsOn
		}
	}
}

// WithIO makes Serve read supervisor frames from r and write runner frames to
// w instead of os.Stdin and os.Stdout. Serve writes each frame with one
// w.Write call.
func WithIO(r io.Reader, w io.Writer) Option {
	return func(c *config) { c.in, c.out = r, w }
}

// WithVersions sets the inclusive range of protocol versions the runner
// offers in Hello (default: the versions this SDK speaks, 1 to 1).
func WithVersions(minVersion, maxVersion uint32) Option {
	return func(c *config) { c.minVersion, c.maxVersion = minVersion, maxVersion }
}

// WithCapabilities sets the optional features announced in Hello (default
// "cancel" and "progress": docs/protocol.md, "Handshake").
func WithCapabilities(caps ...string) Option {
	return func(c *config) { c.capabilities = append([]string(nil), caps...) }
}

// WithLogger sets where the SDK logs (default: nowhere). Never log to
// stdout: it carries the frames.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithStopGrace sets how long Serve waits for cancelled handlers when stdin
// ends, Serve's context ends or the runner fails (default DefaultStopGrace).
func WithStopGrace(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.grace = d
		}
	}
}

// Serve speaks the runner protocol on stdin and stdout (see WithIO) for h
// until the supervisor sends Shutdown, stdin ends, or ctx ends; in all three
// cases it returns nil once the handlers returned. It returns an error when the
// handshake is refused (ErrRefused), the supervisor breaks the protocol
// (ErrProtocol), Load fails, Run returns a *FatalError, writing to stdout
// fails, or handlers ignore cancellation (ErrAbandoned). The package
// documentation describes the frames Serve sends.
func Serve(ctx context.Context, h Handler, opts ...Option) error {
	if h == nil {
		return errors.New("runner: Serve needs a Handler, got nil")
	}
	cfg := config{
		in:           os.Stdin,
		out:          os.Stdout,
		minVersion:   protocol.MinVersion,
		maxVersion:   protocol.MaxVersion,
		capabilities: []string{protocol.CapCancel, protocol.CapProgress},
		logger:       slog.New(slog.DiscardHandler),
		grace:        DefaultStopGrace,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.minVersion > cfg.maxVersion {
		return fmt.Errorf("runner: WithVersions(%d, %d): the minimum exceeds the maximum", cfg.minVersion, cfg.maxVersion)
	}
	signals := cfg.signals == signalsOn || cfg.signals == signalsDefault && cfg.in == io.Reader(os.Stdin)
	if f, ok := cfg.in.(*os.File); ok {
		// Read stdin through Go's poller (see package internal/pollfd): a
		// task's handler then starts on the reader's thread at once.
		pf, restore := pollfd.Stdin(f)
		defer restore()
		cfg.in = pf
	}
	// Write stdout through pollfd.Writer when it is a pipe: at once while
	// the supervisor keeps up, coalesced into one write per pipe-full when
	// it does not (a flooding task then costs one write(2) per 64 KiB, not
	// per frame). Its close, deferred before s.close so it runs after it,
	// writes what is still pending.
	out, closeOut := pollfd.Out(cfg.out)
	defer closeOut()
	cfg.out = out
	s := newServer(ctx, cfg, h)
	if signals {
		// A channel of its own, not a context: a caller's own
		// signal.NotifyContext ends Serve's context on the same signal, and
		// which of the two Serve saw first decided the grace (a review).
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		defer signal.Stop(sig)
		s.sig = sig
	}
	defer s.close()
	fr := frame.NewReader(cfg.in, frame.TextStream("stdin", "is something other than the supervisor writing to the runner's stdin?"))
	go s.read(fr) // not waited for: see the package documentation
	if ok, err := s.handshake(ctx); !ok {
		return err
	}
	close(s.serving) // sole sender: Serve, once, after the handshake
	s.startHeartbeats()
	defer s.stopHeartbeats()
	s.startLoad()
	return s.loop(ctx)
}

// Status kinds, short.
const (
	idle         = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE
	loading      = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING
	ready        = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY
	running      = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING
	shuttingDown = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN
	shutdown     = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN
	failed       = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED
)

// readResult is one frame, or the error that ended reading.
type readResult struct {
	env *exov1.SupervisorEnvelope
	err error
}

type eventKind int

const (
	loadEnded eventKind = iota
	taskEnded
	hookEnded
)

// event is what a handler goroutine reports to the main loop when it ends.
type event struct {
	kind eventKind
	task *Task // taskEnded only
	err  error
}

// server is one Serve call. The main loop (Serve's goroutine) owns the fields
// marked so; mu guards the rest and serializes frame writes.
//
// Task, Cancel and Ping frames are handled by the reader goroutine itself,
// under tmu and mu (onTask, onCancel, heartbeat), not handed to the main loop: each
// hand-off between goroutines is a wake-up of another thread, which on a
// small VM costs 10-25 µs, and a task's dispatch crossed two of them before
// its Running frame went out. A task's end is likewise written by its own
// goroutine (endTask), and the main loop hears of it only when it must
// (taskEndedHere): a fatal error, or a stop waiting. The main loop keeps
// the lifecycle: the handshake, Load, Shutdown, stop and failure.
type server struct {
	cfg  config
	h    Handler
	log  *slog.Logger
	ctx  context.Context // Serve's
	base context.Context // parent of every handler's context; never cancelled
	// sig delivers SIGTERM and SIGINT (WithSignals); nil: not watched.
	// The first one stops Serve within SignalGrace, wherever it is.
	sig <-chan os.Signal

	// Set by the handshake, read-only afterwards.
	version  uint32
	runnerID string
	interval time.Duration

	frames    chan readResult // reader goroutine → main loop
	events    chan event      // handler goroutines → main loop
	writeFail chan struct{}   // capacity 1: a frame write failed
	done      chan struct{}   // closed when Serve returns
	serving   chan struct{}   // closed when the handshake succeeded

	handlers   sync.WaitGroup // Load, Run and BeforeShutdown goroutines
	heartbeats sync.WaitGroup // the heartbeat goroutine
	stopHB     chan struct{}  // closed to stop the heartbeat goroutine

	// Main loop only.
	cancelLoad      context.CancelFunc
	cancelHook      context.CancelFunc
	loadRunning     bool
	hookRunning     bool
	shutdownSeen    bool
	shutdownTimeout time.Duration
	shutdownAt      time.Time // when the Shutdown frame was read

	// tmu guards the task table, apart from mu (the write lock), so that
	// cancelling never waits for a frame write: a task blocked writing to a
	// full pipe holds mu. Lock order: tmu, then mu.
	tmu   sync.Mutex
	live  int // handler goroutines that have not ended (reported to the main loop, or counted out by taskEndedHere)
	tasks map[string]*Task
	// starts counts tasks started (incremented under tmu before a task's
	// Running is written): endTask, which decides under tmu but writes
	// under mu alone, sets Ready only if no task started in between.
	starts atomic.Uint64
	// stopping is set by the main loop (stop) and read by the reader;
	// shutdownAsked is set by the reader when it reads a Shutdown frame,
	// so a Task behind it is refused before the main loop has seen it.
	stopping      bool
	shutdownAsked bool

	mu sync.Mutex
	// batching makes writeLocked only buffer its frame; flushLocked then
	// writes what was buffered in one Write.
	batching  bool
	fw        *frame.Writer
	werr      error // first write error; every later write returns it
	closed    bool  // Serve returned
	status    exov1.RunnerStatusKind
	layers    uint32 // last Loading value
	total     uint32
	tokens    uint64 // token chunks sent
	completed uint64 // tasks completed
	seq       uint64 // heartbeats sent
}

func newServer(ctx context.Context, cfg config, h Handler) *server {
	return &server{
		cfg:       cfg,
		h:         h,
		log:       cfg.logger,
		ctx:       ctx,
		base:      context.WithoutCancel(ctx),
		runnerID:  os.Getenv(protocol.EnvRunnerID),
		frames:    make(chan readResult),
		events:    make(chan event),
		writeFail: make(chan struct{}, 1),
		done:      make(chan struct{}),
		serving:   make(chan struct{}),
		tasks:     map[string]*Task{},
		fw:        frame.NewWriter(cfg.out),
		status:    idle,
	}
}

// close marks the end of Serve: later writes fail and goroutines still trying
// to report to the main loop give up.
func (s *server) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	close(s.done) // sole sender: Serve, which closes it once, on return
}

// read is the reader goroutine: it ends after the first error (io.EOF
// included) or when Serve returned. The first frame (the handshake's answer)
// goes to the main loop; once the handshake succeeded, the reader handles
// Task, Cancel and Ping frames itself (handleInReader) and hands the others
// (Shutdown, protocol errors, the end of stdin) to the main loop.
func (s *server) read(fr *frame.Reader) {
	handshaken := false
	for {
		env := &exov1.SupervisorEnvelope{}
		err := fr.Read(env)
		if err == nil && handshaken && s.handleInReader(env) {
			continue
		}
		select {
		case s.frames <- readResult{env: env, err: err}:
		case <-s.done:
			return
		}
		if err != nil {
			return
		}
		if !handshaken {
			// Wait until the main loop has applied the handshake (the
			// runner ID, the logger): onTask reads them.
			select {
			case <-s.serving:
				handshaken = true
			case <-s.done:
				return
			}
		}
	}
}

// handleInReader handles a frame on the reader goroutine when that needs no
// main loop, and reports whether it did. A Shutdown is noted first (so a
// Task behind it is refused and, without a ShutdownHook, the runner reports
// ShuttingDown and its running tasks are cancelled at once: even a task that
// floods its output stops within one chunk, instead of writing on until the
// main loop gets the lock between two chunks), then handed to the main loop.
func (s *server) handleInReader(env *exov1.SupervisorEnvelope) bool {
	switch b := env.GetBody().(type) {
	case *exov1.SupervisorEnvelope_Task:
		if s.onTask(b.Task) {
			s.yieldToTask()
			_ = s.flushStart() // a failure is the main loop's to report (writeFail)
		}
		return true
	case *exov1.SupervisorEnvelope_Cancel:
		s.onCancel(b.Cancel)
		return true
	case *exov1.SupervisorEnvelope_Ping:
		_ = s.heartbeat(b.Ping.GetNonce())
		return true
	case *exov1.SupervisorEnvelope_Shutdown:
		_, hook := s.h.(ShutdownHook)
		s.tmu.Lock()
		s.shutdownAsked = true
		if !hook {
			// The tasks first (no write lock needed: a task blocked in a
			// write stops at its next chunk), then ShuttingDown, as
			// shutdown would report it; the tasks' Cancelled frames
			// follow it, since endTask waits for tmu. shutdown's own
			// report is then a repeat, refused and not written.
			for _, t := range s.tasks {
				t.stop(reasonShutdown)
			}
			s.mu.Lock()
			_ = s.setStatusLocked(&exov1.RunnerStatus{Kind: shuttingDown})
			s.mu.Unlock()
		}
		s.tmu.Unlock()
	}
	return false
}

// reasonShutdown is why a Shutdown cancels the running tasks.
const reasonShutdown = "runner shutting down"

// send reports a handler goroutine's end to the main loop.
func (s *server) send(ev event) {
	select {
	case s.events <- ev:
	case <-s.done:
	}
}

// writeLocked writes one frame; s.mu must be held. The first failure is kept
// and signalled to the main loop.
func (s *server) writeLocked(env *exov1.RunnerEnvelope) error {
	if s.closed {
		return ErrClosed
	}
	if s.werr != nil {
		return s.werr
	}
	if err := s.fw.Buffer(env); err != nil {
		// Buffer does no I/O: a frame over the limit, or one that cannot
		// be marshalled (a string that is not UTF-8, which proto3
		// refuses), is refused with the batch left as it was; the stream
		// is whole and the runner goes on (that call alone fails).
		if errors.Is(err, frame.ErrTooLarge) {
			return fmt.Errorf("runner: %w; nothing was written (send large outputs in several chunks)", err)
		}
		return fmt.Errorf("runner: %w; nothing was written (a frame's text must be UTF-8)", err)
	}
	if s.batching {
		return nil
	}
	return s.flushLocked()
}

// flushLocked writes the frames buffered by writeLocked in one Write; s.mu
// must be held.
func (s *server) flushLocked() error {
	if s.werr != nil {
		return s.werr
	}
	if err := s.fw.Flush(); err != nil {
		return s.writeFailed(err)
	}
	return nil
}

// writeFailed keeps the first write failure and signals it to the main
// loop; s.mu must be held.
func (s *server) writeFailed(err error) error {
	s.werr = fmt.Errorf("runner: writing a frame to the supervisor: %w", err)
	select {
	case s.writeFail <- struct{}{}:
	default:
	}
	return s.werr
}

func (s *server) write(env *exov1.RunnerEnvelope) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeLocked(env)
}

func statusFrame(st *exov1.RunnerStatus) *exov1.RunnerEnvelope {
	return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_StatusUpdated{
		StatusUpdated: &exov1.StatusUpdated{Status: st}}}
}

func taskStatusFrame(id string, st exov1.TaskStatus, reason string) *exov1.RunnerEnvelope {
	return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{
		TaskStatusUpdated: &exov1.TaskStatusUpdated{TaskId: id, Status: st, Reason: reason}}}
}

// setStatusLocked checks and reports a status change; s.mu must be held.
func (s *server) setStatusLocked(st *exov1.RunnerStatus) error {
	if s.closed {
		return ErrClosed
	}
	if !protocol.ValidTransition(s.status, st.GetKind()) {
		return fmt.Errorf("%w: %s → %s", ErrInvalidTransition,
			protocol.StatusName(s.status), protocol.FormatStatus(st))
	}
	s.status = st.GetKind()
	return s.writeLocked(statusFrame(st))
}

func (s *server) setStatus(kind exov1.RunnerStatusKind) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.setStatusLocked(&exov1.RunnerStatus{Kind: kind})
}

// handshake sends Hello and waits for the answer. ok is false when Serve must
// return (with err, nil when the supervisor went away or ctx ended).
func (s *server) handshake(ctx context.Context) (ok bool, err error) {
	hello := &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Hello{Hello: &exov1.Hello{
		MinVersion:   s.cfg.minVersion,
		MaxVersion:   s.cfg.maxVersion,
		RunnerId:     s.runnerID,
		Pid:          int32(os.Getpid()),
		Capabilities: s.cfg.capabilities,
	}}}
	if err := s.write(hello); err != nil {
		return false, err
	}
	var r readResult
	select {
	case <-ctx.Done():
		s.log.Info("runner: context ended during the handshake")
		return false, nil
	case <-s.sig:
		s.log.Info("runner: signal during the handshake")
		return false, nil
	case r = <-s.frames:
	}
	if errors.Is(r.err, io.EOF) {
		s.log.Warn("runner: supervisor closed stdin before answering Hello")
		return false, nil
	}
	if r.err != nil {
		return false, fmt.Errorf("runner: %w: reading the answer to Hello: %w", ErrProtocol, r.err)
	}
	switch b := r.env.GetBody().(type) {
	case *exov1.SupervisorEnvelope_HelloAccepted:
		a := b.HelloAccepted
		if v := a.GetVersion(); v < s.cfg.minVersion || v > s.cfg.maxVersion {
			return false, fmt.Errorf("runner: %w: supervisor accepted version %d, outside the runner's [%d, %d]; the supervisor must pick a version both speak",
				ErrProtocol, v, s.cfg.minVersion, s.cfg.maxVersion)
		}
		s.version = a.GetVersion()
		if id := a.GetRunnerId(); id != "" {
			s.runnerID = id
		}
		s.interval = a.GetHeartbeatInterval().AsDuration()
		if s.interval <= 0 {
			s.interval = protocol.DefaultHeartbeatInterval
		}
		s.log = s.log.With("runner_id", s.runnerID)
		s.log.Debug("runner: handshake accepted", "version", s.version, "heartbeat_interval", s.interval)
		return true, nil
	case *exov1.SupervisorEnvelope_HelloRefused:
		rf := b.HelloRefused
		verr := &protocol.VersionError{
			RunnerMin: s.cfg.minVersion, RunnerMax: s.cfg.maxVersion,
			SupervisorMin: rf.GetSupervisorMinVersion(), SupervisorMax: rf.GetSupervisorMaxVersion(),
		}
		if reason := rf.GetReason(); reason != "" {
			return false, fmt.Errorf("runner: %w (%s): %w", ErrRefused, reason, verr)
		}
		return false, fmt.Errorf("runner: %w: %w", ErrRefused, verr)
	default:
		return false, fmt.Errorf("runner: %w: the first frame must be HelloAccepted or HelloRefused, got %s",
			ErrProtocol, bodyName(r.env))
	}
}

func bodyName(env *exov1.SupervisorEnvelope) string {
	m := env.ProtoReflect()
	if od := m.Descriptor().Oneofs().ByName("body"); od != nil {
		if fd := m.WhichOneof(od); fd != nil {
			return string(fd.Message().Name())
		}
	}
	return "an empty envelope"
}

func (s *server) startHeartbeats() {
	s.stopHB = make(chan struct{})
	s.heartbeats.Add(1)
	go func(stop <-chan struct{}) {
		defer s.heartbeats.Done()
		t := time.NewTicker(s.interval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				_ = s.heartbeat(0) // a failure reaches the main loop through writeFail
			}
		}
	}(s.stopHB)
}

// stopHeartbeats stops the heartbeat goroutine and waits for it; idempotent.
func (s *server) stopHeartbeats() {
	if s.stopHB == nil {
		return
	}
	close(s.stopHB) // sole sender: the main loop, the only caller
	s.stopHB = nil
	s.heartbeats.Wait()
}

func (s *server) heartbeat(nonce uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return s.writeLocked(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{
		Seq:            s.seq,
		TokensProduced: s.tokens,
		LayersLoaded:   s.layers,
		TasksCompleted: s.completed,
		PingNonce:      nonce,
	}}})
}

// protect calls f, turning a panic into a *FatalError.
func (s *server) protect(what string, f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			stack := string(debug.Stack())
			s.log.Error("runner: handler panicked", "in", what, "panic", r, "stack", stack)
			// The stack goes to the supervisor too: the default logger
			// discards, and a Go runner's trial lost every panic's stack.
			err = &FatalError{Err: fmt.Errorf("%s panicked: %v", what, r), Diagnostics: stack}
		}
	}()
	return f()
}

func (s *server) startLoad() {
	ctx, cancel := context.WithCancel(s.base)
	s.cancelLoad = cancel
	s.loadRunning = true
	s.tmu.Lock()
	s.live++
	s.tmu.Unlock()
	s.handlers.Add(1)
	go func() {
		defer s.handlers.Done()
		err := s.protect("Load", func() error { return s.h.Load(ctx, &Session{srv: s}) })
		s.send(event{kind: loadEnded, err: err})
	}()
}

// loop is the main loop after the handshake.
func (s *server) loop(ctx context.Context) error {
	for {
		select {
		case sg := <-s.sig:
			s.log.Info("runner: signal; stopping", "signal", sg.String())
			return s.stop("runner stopped by "+sg.String(), min(s.cfg.grace, SignalGrace))
		case <-ctx.Done():
			s.log.Info("runner: context ended; stopping")
			return s.stop("runner stopped", s.cfg.grace)
		case r := <-s.frames:
			if end, err := s.onFrame(r); end {
				return err
			}
		case ev := <-s.events:
			if end, err := s.onEvent(ev); end {
				return err
			}
		case <-s.writeFail:
			s.mu.Lock()
			err := s.werr
			s.mu.Unlock()
			s.log.Error("runner: cannot write to the supervisor; stopping", "error", err)
			return errjoin.OneLine(err, s.stop("runner cannot reach its supervisor", s.cfg.grace))
		}
	}
}

func (s *server) onFrame(r readResult) (end bool, err error) {
	if errors.Is(r.err, io.EOF) {
		s.log.Info("runner: supervisor closed stdin; stopping")
		return true, s.stop("supervisor went away", s.cfg.grace)
	}
	if r.err != nil {
		err := fmt.Errorf("runner: %w: reading from the supervisor: %w", ErrProtocol, r.err)
		return true, s.fail(err.Error(), err)
	}
	switch b := r.env.GetBody().(type) {
	case *exov1.SupervisorEnvelope_Task: // the reader's (handleInReader); kept for completeness
		if s.onTask(b.Task) {
			_ = s.flushStart()
		}
	case *exov1.SupervisorEnvelope_Cancel:
		s.onCancel(b.Cancel)
	case *exov1.SupervisorEnvelope_Shutdown:
		return s.onShutdown(b.Shutdown)
	case *exov1.SupervisorEnvelope_Ping:
		_ = s.heartbeat(b.Ping.GetNonce())
	default:
		err := fmt.Errorf("runner: %w: unexpected %s after the handshake", ErrProtocol, bodyName(r.env))
		return true, s.fail(err.Error(), err)
	}
	return false, nil
}

// onTask starts a task: Running, the runner's Running status and
// TaskAcknowledged, then Handler.Run in a goroutine of its own. It buffers
// the three frames without writing them and reports whether it did: the
// caller then writes them (flushStart), after yielding to the task when it
// runs on the reader (yieldToTask), so a task that ends at once sends its
// start and its end in one write. Any write in between (a chunk, the
// task's end, a heartbeat) writes them first. Safe from any goroutine.
func (s *server) onTask(m *exov1.Task) (buffered bool) {
	id := m.GetId()
	// The task's logger is built only to log: With formats its attributes
	// (through the handler) on every call, whether or not anything is logged.
	log := func() *slog.Logger { return s.log.With("task_id", id, "kind", m.GetKind()) }
	if id == "" {
		log().Warn("runner: ignoring a task without an ID")
		return
	}
	s.tmu.Lock()
	defer s.tmu.Unlock()
	if _, dup := s.tasks[id]; dup {
		log().Warn("runner: ignoring a task whose ID is already running")
		return false
	}
	s.starts.Add(1) // before Running is written: an ending task must not set Ready now (endTask)
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return false
	}
	st := s.status
	if s.shutdownAsked || s.stopping || (st != ready && st != running) {
		reason := fmt.Sprintf("runner is %s; send tasks when it is Ready", protocol.StatusName(st))
		if s.shutdownAsked || s.stopping {
			reason = "runner is shutting down"
		}
		_ = s.writeLocked(taskStatusFrame(id, exov1.TaskStatus_TASK_STATUS_FAILED, reason))
		s.mu.Unlock()
		log().Warn("runner: refusing a task", "reason", reason)
		return false
	}
	s.batching = true
	_ = s.writeLocked(taskStatusFrame(id, exov1.TaskStatus_TASK_STATUS_RUNNING, ""))
	if st != running {
		_ = s.setStatusLocked(&exov1.RunnerStatus{Kind: running})
	}
	_ = s.writeLocked(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskAcknowledged{
		TaskAcknowledged: &exov1.TaskAcknowledged{TaskId: id}}})
	s.batching = false // buffered, not written: the next write, or flushStart, sends them
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(s.base)
	t := &Task{srv: s, msg: m, cancel: cancel}
	s.tasks[id] = t
	s.live++
	s.handlers.Add(1) // under tmu with stopping unset: before stop's Wait
	// On a grown stack: the task's end (protobuf, the write) otherwise
	// grows a new goroutine's stack several times, copying it each time.
	stackdispatch.Go(func() {
		defer s.handlers.Done()
		err := s.protect("Run", func() error { return s.h.Run(ctx, t) })
		s.endTask(t, err)
		if s.taskEndedHere(t, err) {
			return
		}
		s.send(event{kind: taskEnded, task: t, err: err})
	})
	return true
}

// yieldToTask lets the task just started run before its start frames are
// written: the new goroutine waits in this P's "run next" slot, so a yield
// runs it on this thread at once. A task that ends at once (a noop, a
// refusal) then writes its start and its end in one write (endTask), and the
// supervisor is woken once instead of twice. A task that blocks gives the
// thread back at once; one that computes lets the reader run on another P
// when one is free, so its Running goes out within microseconds (if every
// P runs computing goroutines, the reader waits for the scheduler's time
// slice, up to 10 ms; the new task is then the only one, see below). With one P a computing task would always hold the
// reader that long: then there is no yield, and Running is written at once
// as before.
//
// Only when the new task is the only one: with other tasks running, a
// yield puts the reader at the back of the scheduler's queue behind every
// computing task (a whole round: 80 ms measured with 8 computing tasks on
// 2 cores), and the Cancel and Ping frames behind it would wait too.
func (s *server) yieldToTask() {
	if goruntime.GOMAXPROCS(0) <= 1 {
		return
	}
	s.tmu.Lock()
	alone := len(s.tasks) == 1
	s.tmu.Unlock()
	if alone {
		goruntime.Gosched()
	}
}

// flushStart writes what onTask buffered, unless a write since did.
func (s *server) flushStart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.fw.Buffered() == 0 {
		return s.werr
	}
	return s.flushLocked()
}

// taskEndedHere does the main loop's part of a task's end on the task's
// own goroutine when the main loop is not needed: the task did not fail
// fatally and no stop waits for it (a stop counts the handlers that have
// not reported, so a task that ends during one reports as before). It
// reports whether it did. Reporting to the main loop would wake its thread
// after the task's last frames went out; on a small VM that wake-up delays
// the supervisor's read of them.
func (s *server) taskEndedHere(t *Task, runErr error) bool {
	var fatal *FatalError
	if errors.As(runErr, &fatal) {
		return false
	}
	s.tmu.Lock()
	if s.stopping {
		s.tmu.Unlock()
		return false
	}
	s.live--
	s.tmu.Unlock()
	t.cancel()
	if runErr != nil {
		s.log.Info("runner: task ended", "task_id", t.ID(), "error", runErr)
	}
	return true
}

// onCancel cancels one task or all; safe from any goroutine (the reader
// calls it).
func (s *server) onCancel(m *exov1.Cancel) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	switch target := m.GetTarget().(type) {
	case *exov1.Cancel_TaskId:
		t, ok := s.tasks[target.TaskId]
		if !ok {
			s.log.Info("runner: cancel of a task that is not running", "task_id", target.TaskId)
			return
		}
		t.stop("cancelled by the supervisor")
	case *exov1.Cancel_All:
		if target.All {
			for _, t := range s.tasks {
				t.stop("cancelled by the supervisor")
			}
		}
	default:
		s.log.Warn("runner: ignoring a Cancel without a target")
	}
}

func (s *server) onShutdown(m *exov1.Shutdown) (end bool, err error) {
	if s.shutdownSeen {
		s.log.Info("runner: ignoring a repeated Shutdown")
		return false, nil
	}
	s.shutdownSeen = true
	s.shutdownTimeout = m.GetTimeout().AsDuration()
	s.shutdownAt = time.Now()
	hook, ok := s.h.(ShutdownHook)
	if !ok {
		return true, s.shutdown()
	}
	ctx, cancel := context.WithCancel(s.base)
	s.cancelHook = cancel
	s.hookRunning = true
	s.tmu.Lock()
	s.live++
	s.tmu.Unlock()
	s.handlers.Add(1)
	go func() {
		defer s.handlers.Done()
		err := s.protect("BeforeShutdown", func() error { hook.BeforeShutdown(ctx); return nil })
		s.send(event{kind: hookEnded, err: err})
	}()
	return false, nil
}

// shutdownExitMargin is the most of a Shutdown frame's timeout the SDK
// keeps for itself: it waits for cancelled handlers up to the timeout less
// this margin (less a fifth of a timeout under 2.5s), counted from the
// frame, so that it reports Shutdown and exits before the supervisor's
// SIGTERM, which comes when the timeout ends. Waiting the whole timeout
// raced the SIGTERM and always lost to it when a handler ignored its
// cancellation.
const shutdownExitMargin = 500 * time.Millisecond

// shutdownWait is how long the SDK waits for cancelled handlers after a
// Shutdown frame with timeout read elapsed ago (a BeforeShutdown hook ran
// meanwhile); 0 (no limit) only for a timeout of 0.
func shutdownWait(timeout, elapsed time.Duration) time.Duration {
	if timeout <= 0 {
		return 0
	}
	return max(timeout-min(timeout/5, shutdownExitMargin)-elapsed, time.Millisecond)
}

// shutdown carries out a Shutdown request.
func (s *server) shutdown() error {
	s.log.Info("runner: shutting down", "timeout", s.shutdownTimeout)
	_ = s.setStatus(shuttingDown)
	err := s.stop(reasonShutdown, shutdownWait(s.shutdownTimeout, time.Since(s.shutdownAt)))
	s.stopHeartbeats()
	_ = s.setStatus(shutdown)
	return err
}

func (s *server) onEvent(ev event) (end bool, err error) {
	s.tmu.Lock()
	s.live--
	s.tmu.Unlock()
	switch ev.kind {
	case loadEnded:
		s.loadRunning = false
		s.cancelLoad()
		// One look at both, under both locks: the reader goroutine notes a
		// Shutdown at once (handleInReader sets ShuttingDown under tmu and
		// mu), so a status read apart from ending() could see the
		// ShuttingDown that ending() missed, and a runner stopped right
		// after it said Ready failed with "Load returned in status
		// ShuttingDown" (the package's Example, once in CI).
		ending, st := s.endingAndStatus()
		if ending {
			return false, nil
		}
		if ev.err != nil {
			return true, s.fail(ev.err.Error(), fmt.Errorf("runner: Load failed: %w", ev.err))
		}
		if st != ready && st != running {
			err := fmt.Errorf("runner: Load returned in status %s; it must report Ready before returning nil", protocol.StatusName(st))
			return true, s.fail(err.Error(), err)
		}
	case hookEnded:
		s.hookRunning = false
		s.cancelHook()
		if s.stopping {
			return false, nil
		}
		return true, s.shutdown()
	case taskEnded:
		return s.onTaskEnded(ev.task, ev.err)
	}
	return false, nil
}

// endTask writes a task's end on its own goroutine, as soon as Run
// returned: Complete, Failed (after an ErrorChunk) or Cancelled, then the
// runner's Ready once no task runs, in one write.
func (s *server) endTask(t *Task, runErr error) {
	id := t.ID()
	var fatal *FatalError
	isFatal := errors.As(runErr, &fatal)
	// Decide under tmu, write under mu alone: holding tmu across a write
	// that waits on a full pipe (another task flooding) would make a
	// Cancel, a Shutdown and stop wait for the node to read.
	s.tmu.Lock()
	delete(s.tasks, id)
	reason := t.reason
	idle := len(s.tasks) == 0 && !s.stopping
	starts := s.starts.Load()
	s.tmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	t.ended = true
	s.batching = true
	switch {
	case runErr != nil && reason != "" && !isFatal:
		_ = s.writeLocked(taskStatusFrame(id, exov1.TaskStatus_TASK_STATUS_CANCELLED, reason))
	case runErr != nil:
		msg := sendable(runErr.Error(), protocol.TextMax) // else its frame could be refused: no end said
		_ = s.writeLocked(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
			TaskId: id, Index: t.next,
			Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: msg}},
		}}})
		t.next++
		_ = s.writeLocked(taskStatusFrame(id, exov1.TaskStatus_TASK_STATUS_FAILED, msg))
	default:
		s.completed++
		_ = s.writeLocked(taskStatusFrame(id, exov1.TaskStatus_TASK_STATUS_COMPLETE, ""))
	}
	if idle && !isFatal && s.starts.Load() == starts && s.status == running {
		_ = s.setStatusLocked(&exov1.RunnerStatus{Kind: ready})
	}
	s.batching = false
	_ = s.flushLocked()
}

// onTaskEnded is the main loop's part of a task's end (endTask wrote its
// frames): a *FatalError ends the runner.
func (s *server) onTaskEnded(t *Task, runErr error) (end bool, err error) {
	t.cancel()
	var fatal *FatalError
	if errors.As(runErr, &fatal) && !s.ending() {
		return true, s.failWith(runErr.Error(), fatal.Diagnostics, fmt.Errorf("runner: task %s: %w", t.ID(), runErr))
	}
	if runErr != nil {
		s.log.Info("runner: task ended", "task_id", t.ID(), "error", runErr)
	}
	return false, nil
}

// sendable returns s as a frame can carry it: valid UTF-8 (proto3 refuses
// anything else; a byte-level error text or a panic value is no rarity),
// cut to limit bytes as the supervisor would (protocol.Cap).
func sendable(s string, limit int) string {
	return protocol.Cap(strings.ToValidUTF8(s, "\uFFFD"), limit)
}

// fail ends the runner on an error: Failed, cancel and wait for the handlers,
// then TerminationError as the last frame. It returns err (joined with
// ErrAbandoned when handlers did not return).
func (s *server) fail(msg string, err error) error {
	var fatal *FatalError
	diag := ""
	if errors.As(err, &fatal) {
		diag = fatal.Diagnostics
	}
	return s.failWith(msg, diag, err)
}

// failWith is fail with the diagnostics of the Failed status. The texts
// are cut to the supervisor's bounds: a longer one made a frame over the
// frame limit, whose write failed, and the runner exited 1 with nothing
// said.
func (s *server) failWith(msg, diag string, err error) error {
	msg, diag = sendable(msg, protocol.TextMax), sendable(diag, protocol.DiagnosticsMax)
	s.log.Error("runner: failing", "error", err)
	s.mu.Lock()
	if protocol.ValidTransition(s.status, failed) {
		_ = s.setStatusLocked(&exov1.RunnerStatus{Kind: failed, ErrorMessage: msg, Diagnostics: diag})
	}
	s.mu.Unlock()
	stopErr := s.stop("runner failed: "+msg, s.cfg.grace)
	s.stopHeartbeats()
	_ = s.write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TerminationError{
		TerminationError: &exov1.TerminationError{Message: msg}}})
	return errjoin.OneLine(err, stopErr)
}

// stop cancels every handler (Load, tasks, BeforeShutdown) and waits for them
// up to limit (zero: no limit, until stdin ends or Serve's context ends, then
// the stop grace). Tasks cancelled here end Cancelled with reason.
func (s *server) stop(reason string, limit time.Duration) error {
	s.tmu.Lock()
	s.stopping = true
	for _, t := range s.tasks {
		t.stop(reason)
	}
	s.tmu.Unlock()
	s.cancelLoad()
	if s.cancelHook != nil {
		s.cancelHook()
	}
	var (
		timer    *time.Timer
		deadline <-chan time.Time
		waited   = limit
	)
	arm := func(d time.Duration) {
		timer, waited = time.NewTimer(d), d
		deadline = timer.C
	}
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	if limit > 0 {
		arm(limit)
	}
	frames, ctxDone, sig := s.frames, s.ctx.Done(), s.sig
	for s.liveCount() > 0 {
		select {
		case <-sig: // a signal during any stop: within SignalGrace from now
			sig = nil
			if g := min(s.cfg.grace, SignalGrace); deadline == nil || waited > g {
				if timer != nil {
					timer.Stop()
				}
				arm(g)
			}
		case ev := <-s.events:
			_, _ = s.onEvent(ev) // stopping: only bookkeeping and task statuses
		case r := <-frames:
			if r.err != nil { // the reader has ended: the supervisor is gone
				frames = nil
				if deadline == nil {
					arm(s.cfg.grace)
				}
				continue
			}
			if p := r.env.GetPing(); p != nil {
				_ = s.heartbeat(p.GetNonce())
			}
		case <-ctxDone:
			ctxDone = nil
			if deadline == nil {
				arm(s.cfg.grace)
			}
		case <-deadline:
			return s.abandoned(waited)
		}
	}
	s.handlers.Wait()
	return nil
}

// ending reports whether the runner is stopping or shutting down: stop
// began, or the reader took a Shutdown (and reported ShuttingDown) that the
// main loop has not reached yet. Handlers that end meanwhile (Load cut
// short, a task cancelled) are part of that end, not failures.
func (s *server) ending() bool {
	ending, _ := s.endingAndStatus()
	return ending
}

// endingAndStatus returns ending() and the status it saw, read together
// (tmu, then mu, as handleInReader takes them).
func (s *server) endingAndStatus() (bool, exov1.RunnerStatusKind) {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping || s.status == shuttingDown, s.status
}

// liveCount returns how many handler goroutines have not reported their end.
func (s *server) liveCount() int {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	return s.live
}

func (s *server) abandoned(after time.Duration) error {
	s.tmu.Lock()
	defer s.tmu.Unlock()
	names := make([]string, 0, len(s.tasks)+2)
	if s.loadRunning {
		names = append(names, "Load")
	}
	if s.hookRunning {
		names = append(names, "BeforeShutdown")
	}
	for id := range s.tasks {
		names = append(names, "task "+id)
	}
	sort.Strings(names)
	return fmt.Errorf("runner: %w: %d handler call(s) still running %v after cancellation (%s); they ignore their context, so exit the process",
		ErrAbandoned, s.live, after, strings.Join(names, ", "))
}

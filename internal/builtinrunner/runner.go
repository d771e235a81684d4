package builtinrunner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/exo-actors/exo-actors/internal/pollfd"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/runner"
)

// Defaults of the exo-actors runner flags.
const (
	DefaultLayers      = 8
	DefaultLayerDelay  = 20 * time.Millisecond
	DefaultWarmupDelay = 10 * time.Millisecond
	DefaultTokenDelay  = 5 * time.Millisecond
	DefaultMaxTokens   = 20
	// MaxMaxTokens bounds the max_tokens task parameter.
	MaxMaxTokens = 1_000_000
	// MaxTokenBytes bounds the token_bytes task parameter (a frame holds
	// at most 4 MiB).
	MaxTokenBytes = 1 << 20
)

// Task kinds the built-in runner runs.
const (
	KindTextGeneration = "text_generation"
	KindNoop           = "noop"
)

// Task parameters the built-in runner reads.
const (
	ParamMaxTokens  = "max_tokens"
	ParamTokenBytes = "token_bytes"
	ParamFault      = "fault"
)

// Config configures the built-in runner. Zero values: Layers 0 means
// DefaultLayers, zero delays mean no delay, the zero Fault injects nothing,
// nil streams mean the process's own, a nil Logger discards.
type Config struct {
	Layers     int           // layers to "load"
	HelloDelay time.Duration // before the Hello frame (a runner slow to start, or one that never says Hello)
	// ConnectDelay is spent Connecting (a runner waiting for its peers,
	// which no timeout of the supervisor bounds).
	ConnectDelay time.Duration
	LayerDelay   time.Duration // per layer
	WarmupDelay  time.Duration // between WarmingUp and Ready
	TokenDelay   time.Duration // before each token
	Fault        Fault         // the --fault knob

	Stdin  io.Reader    // supervisor frames
	Stdout io.Writer    // runner frames
	Stderr io.Writer    // fault marker lines
	Logger *slog.Logger // diagnostics; never to Stdout
}

// DefaultConfig returns the configuration of `exo-actors runner` without
// flags.
func DefaultConfig() Config {
	return Config{
		Layers:      DefaultLayers,
		LayerDelay:  DefaultLayerDelay,
		WarmupDelay: DefaultWarmupDelay,
		TokenDelay:  DefaultTokenDelay,
	}
}

func (c Config) layers() int {
	if c.Layers == 0 {
		return DefaultLayers
	}
	return c.Layers
}

// Validate reports a configuration the runner cannot honour, such as a
// negative delay or a loading fault that would never fire.
func (c Config) Validate() error {
	if c.Layers < 0 {
		return fmt.Errorf("layers %d: want a positive number (0 means %d)", c.Layers, DefaultLayers)
	}
	for _, d := range []struct {
		name string
		d    time.Duration
	}{{"hello delay", c.HelloDelay}, {"connect delay", c.ConnectDelay}, {"layer delay", c.LayerDelay}, {"warmup delay", c.WarmupDelay}, {"token delay", c.TokenDelay}} {
		if d.d < 0 {
			return fmt.Errorf("%s %v: want zero or more", d.name, d.d)
		}
	}
	if c.Fault.Kind != "" {
		if _, err := ParseFault(c.Fault.String()); err != nil {
			return err
		}
	}
	if c.Fault.loadingOnly() && c.Fault.Count >= c.layers() {
		return fmt.Errorf("fault %s never fires with %d layers: give fewer layers than %d", c.Fault, c.layers(), c.layers())
	}
	return nil
}

// Run runs the built-in runner: it speaks the runner protocol on cfg's
// streams until Shutdown, the end of stdin or of ctx (nil), or an error. The
// fault knobs exit the process or block forever; Run is meant to be the whole
// life of an `exo-actors runner` process.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	return newRunner(cfg).serve(ctx)
}

// builtin is the runner.Handler imitating an exo model runner.
type builtin struct {
	cfg    Config
	log    *slog.Logger
	in     *faultReader
	out    *faultWriter
	stderr io.Writer

	exit  func(code int)           // os.Exit
	raise func(sig syscall.Signal) // dieBySignal
	block func()                   // blocks forever
	armed atomic.Pointer[Fault]    // an ignore-shutdown fault, once given
}

func newRunner(cfg Config) *builtin {
	b := &builtin{
		cfg:    cfg,
		log:    cfg.Logger,
		in:     &faultReader{r: cfg.Stdin},
		out:    &faultWriter{w: cfg.Stdout},
		stderr: cfg.Stderr,
		exit:   os.Exit,
		raise:  dieBySignal,
		block:  func() { select {} },
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.in.r == nil {
		b.in.r = os.Stdin
	}
	if b.out.w == nil {
		b.out.w = os.Stdout
	}
	if b.stderr == nil {
		b.stderr = os.Stderr
	}
	if cfg.Fault.Kind == FaultIgnoreShutdown {
		f := cfg.Fault
		b.armed.Store(&f)
	}
	return b
}

func (b *builtin) serve(ctx context.Context) error {
	if f, ok := b.in.r.(*os.File); ok {
		// Read stdin through Go's poller (see package pollfd): a task's
		// handler then starts on the reader's thread at once.
		pf, restore := pollfd.Stdin(f)
		defer restore()
		b.in.r = pf
	}
	// Write stdout through pollfd.Writer, as runner.Serve does for
	// os.Stdout (this runner hands Serve its fault wrapper instead).
	out, closeOut := pollfd.Out(b.out.w)
	defer closeOut()
	b.out.w = out
	if !b.helloDelay(ctx, b.cfg.HelloDelay) {
		return nil // ended before its Hello: stdin ended (the supervisor is gone), or SIGTERM (it gave up on it)
	}
	// Its own signal handling (internal/cli/runner.go, and its hang fault
	// ignores SIGTERM): not the SDK's.
	return runner.Serve(ctx, b, runner.WithIO(b.in, b.out), runner.WithLogger(b.log), runner.WithSignals(false))
}

// marker prints the fault's marker line on stderr, in one write.
func (b *builtin) marker(k FaultKind) {
	_, _ = fmt.Fprintln(b.stderr, k.Marker())
}

// Load imitates loading a model: Connecting, Connected, Loading(k/N) for
// each layer, Loaded, WarmingUp, Ready; then the --fault knobs that act once
// Ready.
func (b *builtin) Load(ctx context.Context, s *runner.Session) error {
	for _, st := range []exov1.RunnerStatusKind{
		exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING,
		exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTED,
	} {
		if err := s.SetStatus(st); err != nil {
			return err
		}
		if st == exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING {
			if err := sleep(ctx, b.cfg.ConnectDelay); err != nil {
				return err
			}
		}
	}
	n := uint32(b.cfg.layers())
	for k := uint32(0); ; k++ {
		if err := s.Loading(k, n); err != nil {
			return err
		}
		if k == n {
			break
		}
		if err := b.loadingFault(ctx, int(k)); err != nil {
			return err
		}
		if err := sleep(ctx, b.cfg.LayerDelay); err != nil {
			return err
		}
	}
	if err := s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED); err != nil {
		return err
	}
	if err := s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_WARMING_UP); err != nil {
		return err
	}
	if err := sleep(ctx, b.cfg.WarmupDelay); err != nil {
		return err
	}
	if err := s.SetStatus(exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY); err != nil {
		return err
	}
	switch f := b.cfg.Fault; f.Kind {
	case FaultExit, FaultSignal, FaultHang, FaultGarbage, FaultTermination:
		return b.act(f)
	}
	return nil
}

// loadingFault acts on crash-loading and stall-loading once `loaded` layers
// are in.
func (b *builtin) loadingFault(ctx context.Context, loaded int) error {
	f := b.cfg.Fault
	if !f.loadingOnly() || f.Count != loaded {
		return nil
	}
	b.marker(f.Kind)
	if f.Kind == FaultCrashLoading {
		b.exit(1)
		return nil
	}
	b.log.Warn("exo-runner: loading stalls on purpose", "fault", f.String())
	<-ctx.Done() // heartbeats go on; layers_loaded stays
	return ctx.Err()
}

// act carries out a fault that acts at once. It does not return for exit,
// signal and hang; it returns nil after garbage and the error to end the
// runner with for termination.
func (b *builtin) act(f Fault) error {
	b.log.Warn("exo-runner: injecting a fault", "fault", f.String())
	switch f.Kind {
	case FaultExit:
		b.marker(f.Kind)
		b.exit(f.Code)
	case FaultSignal:
		b.marker(f.Kind)
		b.raise(f.Signal)
	case FaultHang:
		// Wedged like a process stuck in the kernel: SIGTERM and SIGINT no
		// longer reach the CLI's context; only SIGKILL ends it.
		signal.Ignore(syscall.SIGTERM, syscall.SIGINT)
		b.in.freeze()
		b.out.freeze()
		b.marker(f.Kind) // after the freeze: no frame follows this line
		b.block()
	case FaultGarbage:
		b.marker(f.Kind)
		if err := b.out.inject(garbage); err != nil {
			return fmt.Errorf("writing the garbage fault: %w", err)
		}
	case FaultTermination:
		b.marker(f.Kind)
		return &runner.FatalError{Err: errors.New(f.Message)}
	}
	return nil
}

// garbage is what the garbage fault writes between two frames: more varint
// continuation bytes than a length prefix may have, then text.
var garbage = []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff garbage from the exo-runner garbage fault\n")

// Run runs a task of kind text_generation or noop, after the fault in its
// "fault" parameter, if any.
func (b *builtin) Run(ctx context.Context, t *runner.Task) error {
	perTask := b.cfg.Fault // hang-progress and crash-after given with --fault apply to every task
	if spec := t.Params()[ParamFault]; spec != "" {
		f, err := ParseFault(spec)
		if err != nil {
			return fmt.Errorf("task parameter %s: %w", ParamFault, err)
		}
		if f.loadingOnly() {
			return fmt.Errorf("task parameter %s: %s acts during loading; give it with --fault", ParamFault, f.Kind)
		}
		switch f.Kind {
		case FaultExit, FaultSignal, FaultHang, FaultGarbage, FaultTermination:
			// The task's Running and TaskAcknowledged go out first: the
			// fault acts on a task that has started.
			if err := t.Flush(); err != nil {
				return err
			}
			if err := b.act(f); err != nil {
				return err
			}
		case FaultIgnoreShutdown:
			b.armed.Store(&f)
		default:
			perTask = f
		}
	}
	if perTask.Kind == FaultHangProgress {
		b.marker(perTask.Kind)
		<-ctx.Done() // heartbeats go on; tokens_produced stays
		return ctx.Err()
	}
	switch t.Kind() {
	case KindNoop:
		return nil
	case KindTextGeneration:
		crashAfter := -1
		if perTask.Kind == FaultCrashAfter {
			crashAfter = perTask.Count
		}
		return b.generate(ctx, t, crashAfter)
	default:
		return fmt.Errorf("unknown task kind %q", t.Kind())
	}
}

// generate streams max_tokens tokens "tok0 ", "tok1 ", ...; the last one
// finishes with "length". With crashAfter >= 0 the process exits with code 1
// after that many tokens.
func (b *builtin) generate(ctx context.Context, t *runner.Task, crashAfter int) error {
	n := DefaultMaxTokens
	if v, ok := t.Params()[ParamMaxTokens]; ok {
		var err error
		n, err = strconv.Atoi(v)
		if err != nil || n < 0 || n > MaxMaxTokens {
			return fmt.Errorf("task parameter %s %q: want an integer from 0 to %d", ParamMaxTokens, v, MaxMaxTokens)
		}
	}
	pad := 0
	if v, ok := t.Params()[ParamTokenBytes]; ok {
		var err error
		pad, err = strconv.Atoi(v)
		if err != nil || pad < 0 || pad > MaxTokenBytes {
			return fmt.Errorf("task parameter %s %q: want an integer from 0 to %d", ParamTokenBytes, v, MaxTokenBytes)
		}
	}
	for i := 0; i < n; i++ {
		if i == crashAfter {
			_ = t.Flush() // crash-after:0 dies after the task's start, as before
			b.marker(FaultCrashAfter)
			b.exit(1)
		}
		if err := sleep(ctx, b.cfg.TokenDelay); err != nil {
			return err
		}
		text := fmt.Sprintf("tok%d ", i)
		if len(text) < pad {
			text += strings.Repeat(".", pad-len(text))
		}
		if i == n-1 {
			return t.Finish("length", text)
		}
		if err := t.Chunk(text); err != nil {
			return err
		}
	}
	return nil
}

// BeforeShutdown holds a Shutdown request for as long as an ignore-shutdown
// fault says.
func (b *builtin) BeforeShutdown(ctx context.Context) {
	f := b.armed.Load()
	if f == nil {
		return
	}
	b.marker(f.Kind)
	if f.Forever {
		<-ctx.Done()
		return
	}
	_ = sleep(ctx, f.Delay)
}

// sleep waits d, or less if ctx ends first; it returns ctx.Err() when ctx has
// ended (also for d == 0).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// faultWriter is the runner's stdout. The SDK writes each frame with one
// Write, so garbage injected under mu lands between two frames; once frozen,
// every Write blocks forever (the hang fault).
type faultWriter struct {
	mu     sync.Mutex
	w      io.Writer
	frozen bool
}

func (f *faultWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen {
		select {} // hang: keep mu, so every later writer blocks too
	}
	return f.w.Write(p)
}

func (f *faultWriter) inject(p []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, err := f.w.Write(p)
	return err
}

// freeze makes every later Write block; a Write in progress finishes first.
func (f *faultWriter) freeze() {
	f.mu.Lock()
	f.frozen = true
	f.mu.Unlock()
}

// faultReader is the runner's stdin; once frozen, reads block forever and
// what a read in progress returns is never delivered (the hang fault).
type faultReader struct {
	r      io.Reader
	frozen atomic.Bool
}

func (f *faultReader) Read(p []byte) (int, error) {
	if f.frozen.Load() {
		select {}
	}
	n, err := f.r.Read(p)
	if f.frozen.Load() {
		select {}
	}
	return n, err
}

func (f *faultReader) freeze() { f.frozen.Store(true) }

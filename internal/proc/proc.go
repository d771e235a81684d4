package proc

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Spec says what to run.
type Spec struct {
	Path string   // executable; looked up in PATH when it has no slash
	Args []string // arguments, without the program name
	Env  []string // full environment (KEY=VALUE); nil inherits the parent's
	Dir  string   // working directory; empty means the parent's
}

// Options tune one process.
type Options struct {
	MaxFrameSize  int // largest stdout frame body; 0 means frame.DefaultMaxSize
	InputQueue    int // frames the stdin writer may hold; 0 means 256
	StderrLineMax int // longest stderr line kept whole (longer ones are truncated: StderrLine.Truncated); 0 means 4096
	// StderrBuffer bounds the stderr lines read and not yet taken
	// (TakeStderr) in lines; 0 means DefaultStderrBuffer. The bytes are
	// bounded too (StderrBufferBytes). When full, the oldest line goes
	// (counted, TakeStderr's dropped): a runner that floods stderr never
	// blocks on it and never grows the node.
	StderrBuffer int
	// FrameStall bounds how long a stdout frame that has begun may stay
	// incomplete while the process keeps stdout open; the reader then
	// reports it (frame.ErrStalled, or frame.ErrTextOnStdout when the bytes
	// are text) instead of waiting behind it. 0 means DefaultFrameStall;
	// negative turns the bound off.
	FrameStall time.Duration
	// ReadWindow is how many Frames batches the stdout reader may have
	// delivered that the owner has not Released yet; 0 means
	// DefaultReadWindow. With none left the reader stops reading, the pipe
	// fills and the runner blocks in its write: backpressure.
	ReadWindow int
	// ReadBatch caps one Frames batch in frames; 0 means DefaultReadBatch.
	ReadBatch int
}

// DefaultFrameStall is Options.FrameStall's default. A runner writes each
// frame in one write, so a frame that began arrives whole within
// microseconds; a second is far beyond that and well below the heartbeat
// timeout (5 s), so a stray print is never mistaken for a hang.
const DefaultFrameStall = time.Second

// Bounds of the stderr lines read and not yet taken (StderrReady).
const (
	DefaultStderrBuffer = 256
	// StderrBufferBytes bounds their bytes (at least one line is kept).
	StderrBufferBytes = 64 << 10
)

// Defaults of the stdout hand-off (see Frames).
const (
	DefaultReadWindow = 4
	DefaultReadBatch  = 256
	// readBatchBytes caps one batch's encoded bytes (plus the one frame that
	// crosses it), so a batch of large frames stays small too.
	readBatchBytes = 64 << 10
)

// Messages delivered to the owner. Each carries the process generation.
type (
	// Frames is a batch of decoded stdout frames, in the order the runner
	// wrote them. The reader delivers what is already buffered as one batch
	// (one frame when the runner writes slowly: no added latency), at most
	// Options.ReadBatch frames and about 64 KiB. Each batch takes one unit
	// of the reader's credit: the owner calls Process.Release once per
	// batch when it is done with it (or has handed it on to someone who
	// releases it), which bounds what is in flight between the pipe and the
	// owner to ReadWindow batches.
	//
	// Process.Recycle gives the batch's envelopes back to the reader, which
	// decodes later frames into them: an owner that recycles keeps no
	// envelope (what a body points to it may keep). Envs' capacity past
	// its length is the reader's.
	Frames struct {
		Gen  uint64
		Envs []*exov1.RunnerEnvelope
	}
	// ReaderClosed is the stdout reader's last message. Err is nil for a clean
	// end of stream, otherwise why reading stopped (often a *frame.Error).
	ReaderClosed struct {
		Gen    uint64
		Err    error
		Frames uint64 // frames read, Skipped included
		// Skipped counts the chunk frames discarded undecoded
		// (Process.DropChunksOf).
		Skipped uint64
	}
	// StderrReady says the stderr reader has lines for the owner, who takes
	// them with Process.TakeStderr. The reader rings once, then not again
	// until a TakeStderr, so at most one is in the owner's mailbox: a
	// runner that floods stderr costs the owner one message per take, not
	// one per line, and what waits is bounded (Options.StderrBuffer).
	StderrReady struct{ Gen uint64 }
	// StderrLine is one line the process wrote to stderr, without its
	// "\n" (or "\r\n"), at most Options.StderrLineMax bytes: of a longer
	// line Line holds the first bytes (cut at a UTF-8 boundary) and
	// Truncated counts the bytes dropped (Text adds the marker).
	StderrLine struct {
		Gen       uint64
		Line      string
		Truncated int
		At        time.Time // when the reader read it (real clock, as Exited.At)
	}
	// StderrClosed is the stderr reader's last message: every line is in
	// the buffer (TakeStderr) by then.
	StderrClosed struct{ Gen uint64 }
	// Exited is the waiter's one message: the process ended and was reaped.
	Exited struct {
		Gen    uint64
		Status ExitStatus
		At     time.Time
	}
	// WriteFailed is sent once, at the writer's first write error: the runner
	// closed its stdin (or died). Later frames are dropped.
	WriteFailed struct {
		Gen uint64
		Err error
	}
	// WriterClosed is the stdin writer's last message; Err is the first write
	// error, if any (frames after it were dropped).
	WriterClosed struct {
		Gen     uint64
		Err     error
		Dropped int
	}
)

// PriorityOutput is the mailbox priority of what the stdout reader
// delivers (Frames, ReaderClosed): below protoactor's default (4), so that
// in a priority mailbox (actor.UnboundedPriority) a control message (a stop,
// a shutdown phase, a timer, a Submit) is taken ahead of the output batches
// already queued, while the batches keep their order among themselves and
// ahead of ReaderClosed.
const PriorityOutput int8 = 2

// GetPriority implements protoactor's actor.PriorityMessage: PriorityOutput.
func (*Frames) GetPriority() int8 { return PriorityOutput }

// GetPriority implements protoactor's actor.PriorityMessage: PriorityOutput,
// like Frames, so it stays behind the last batch.
func (*ReaderClosed) GetPriority() int8 { return PriorityOutput }

// ExitStatus is how a process ended.
type ExitStatus struct {
	Code     int            // exit code, or -1 when killed by a signal
	Signal   syscall.Signal // the signal that killed it, or 0
	CoreDump bool
	Err      error // set when Wait itself failed
	// Lifetime is how long the process lived: from its start to the moment
	// Wait returned (both on the real clock).
	Lifetime time.Duration
}

// Signaled reports whether a signal ended the process.
func (s ExitStatus) Signaled() bool { return s.Signal != 0 }

// String renders the status as "exitcode=3" or "signal=9 (killed)".
func (s ExitStatus) String() string {
	switch {
	case s.Err != nil:
		return "wait failed: " + s.Err.Error()
	case s.Signal != 0:
		return fmt.Sprintf("signal=%d (%s)", int(s.Signal), s.Signal)
	default:
		return fmt.Sprintf("exitcode=%d", s.Code)
	}
}

// Deliver hands a message to the process's owner. It must not block for long
// and must be safe to call from several goroutines (an actor's Send is).
type Deliver func(msg any)

// Errors from Start and Send.
var (
	ErrSpawnerClosed = errors.New("spawner is closed")
	ErrInputFull     = errors.New("runner is not reading its stdin: input queue full")
	ErrInputClosed   = errors.New("runner input already closed")
	ErrReaped        = errors.New("process already reaped")
)

// StartError says a process could not be started, and whether because the
// executable was not found (a configuration error, never worth retrying).
type StartError struct {
	Path     string
	NotFound bool
	Err      error
	// Interpreter, when set, says why a script that exists could not be
	// started and what to do: its #! line names an interpreter that is
	// not there ("its #! line names /usr/bin/python9, which does not
	// exist; install it, or fix the script's #! line"). MissingInterpreter
	// makes it.
	Interpreter string
}

func (e *StartError) Error() string {
	if e.NotFound && e.Interpreter != "" {
		return fmt.Sprintf("executable %q could not be started: %s", e.Path, e.Interpreter)
	}
	if e.NotFound {
		// What to do is the caller's to say: it knows whose command this
		// is (a runner's failure names its kind's config key).
		return fmt.Sprintf("executable %q not found or not executable (%v)", e.Path, innermost(e.Err))
	}
	if e.OutOfFiles() {
		return fmt.Sprintf("start %q: %v: the open-file limit is reached (each running runner holds %d file descriptors of the node); raise the limit (ulimit -n, systemd LimitNOFILE=) or run fewer runners",
			e.Path, innermost(e.Err), FilesPerRunner)
	}
	return fmt.Sprintf("start %q: %v", e.Path, innermost(e.Err))
}

// OutOfFiles says the start failed for want of file descriptors: EMFILE or
// ENFILE anywhere (the pipes, the pidfd, the exec error pipe), or EBADF from
// the forked child. Start hands the child only descriptors it has just
// made, so the child's EBADF is its dup3 of them to a number at or past
// RLIMIT_NOFILE: Go's forkExec moves them above the highest one open, and
// with the table nearly full that number is out of range (seen with
// ulimit -n 40 and 20 runners: "start …: bad file descriptor", classified
// spawn_failed, so the node kept serving instead of shutting down on its
// node-wide fault).
func (e *StartError) OutOfFiles() bool {
	if errors.Is(e.Err, syscall.EMFILE) || errors.Is(e.Err, syscall.ENFILE) {
		return true
	}
	var pe *fs.PathError
	return errors.As(e.Err, &pe) && pe.Op == "fork/exec" && errors.Is(pe.Err, syscall.EBADF)
}

// FilesPerRunner is how many file descriptors of the node a running runner
// holds: its stdin, stdout and stderr pipe ends and a pidfd.
const FilesPerRunner = 4

func (e *StartError) Unwrap() error { return e.Err }

// innermost returns the error at the bottom of err's chain of *exec.Error
// and *fs.PathError, which would name the path a second time.
func innermost(err error) error {
	for {
		var ee *exec.Error
		var pe *fs.PathError
		switch {
		case errors.As(err, &ee) && ee.Err != nil:
			err = ee.Err
		case errors.As(err, &pe) && pe.Err != nil:
			err = pe.Err
		default:
			return err
		}
	}
}

// Spawner starts processes from one goroutine locked to its OS thread.
type Spawner struct {
	reqs chan spawnReq
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	// procs tracks every started process until its four goroutines ended,
	// so Close can end and wait for what an owner left behind.
	mu    sync.Mutex
	live  map[*Process]struct{}
	procs sync.WaitGroup
}

type spawnReq struct {
	cmd   *exec.Cmd
	reply chan error // buffered(1); only the spawner sends, nobody closes
}

// NewSpawner starts the spawner goroutine. Close it when no process it started
// is alive any more: its thread then exits, and the kernel sends SIGKILL to any
// child that is still alive (the last line of defence against orphans).
func NewSpawner() *Spawner {
	s := &Spawner{reqs: make(chan spawnReq), done: make(chan struct{}), live: map[*Process]struct{}{}}
	s.wg.Add(1)
	go s.loop()
	return s
}

func (s *Spawner) loop() {
	defer s.wg.Done()
	// Never unlocked: the thread must live exactly as long as this goroutine.
	goruntime.LockOSThread()
	for {
		select {
		case r := <-s.reqs:
			r.reply <- r.cmd.Start()
		case <-s.done:
			return
		}
	}
}

// Close stops the spawner goroutine and waits for it, and for the goroutines
// of every process it started. Owners end their processes first; a process
// still live here (its owner vanished) is killed with its group and its pipe
// ends are closed from our side, so nothing of it remains: no goroutine, no
// file descriptor, no zombie. Safe to call twice.
func (s *Spawner) Close() {
	s.once.Do(func() {
		close(s.done) // sole sender: Spawner.Close, once
	})
	s.wg.Wait()
	s.mu.Lock()
	left := make([]*Process, 0, len(s.live))
	for p := range s.live {
		left = append(left, p)
	}
	s.mu.Unlock()
	for _, p := range left {
		_ = p.Signal(syscall.SIGKILL)
		p.forceCloseAll()
	}
	s.procs.Wait()
}

// Live returns how many started processes still have goroutines running.
func (s *Spawner) Live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

func (s *Spawner) start(cmd *exec.Cmd) error {
	reply := make(chan error, 1)
	select {
	case s.reqs <- spawnReq{cmd: cmd, reply: reply}:
		return <-reply
	case <-s.done:
		return ErrSpawnerClosed
	}
}

// Process is one started runner process. Send and CloseInput belong to the
// owner (one goroutine); Signal and ForceCloseOutput are safe from anywhere.
type Process struct {
	Gen     uint64
	Pid     int
	Started time.Time

	cmd    *exec.Cmd
	in     chan *exov1.SupervisorEnvelope // sole sender: the owner via Send; closed by CloseInput
	inDone bool
	stdinW *os.File
	// abort ends the writer without waiting for CloseInput (ForceCloseInput).
	abort     chan struct{} // sole sender: ForceCloseInput, once (abortOnce)
	abortOnce sync.Once
	// The direct write (writeDirect): wmu is held by whoever writes to
	// stdin (the writer goroutine for each frame, or Send); queued counts
	// frames handed to the writer and not yet written or dropped;
	// writeBroken is set at the writer's first error; direct is the
	// owner's marshal buffer; stdinRC the pipe's raw conn (nil: no direct
	// writes).
	wmu         sync.Mutex
	queued      atomic.Int64
	writeBroken atomic.Bool
	direct      []byte
	stdinRC     syscall.RawConn
	maxFrame    int
	stdoutR     *os.File
	stderrR     *os.File
	// errBuf holds the stderr lines read and not yet taken: the reader
	// appends (dropping the oldest past the bounds), TakeStderr takes all.
	errBuf stderrBuffer
	// spareEnvs holds batch slices the owner is done with (Recycle),
	// with their envelopes, for the reader's next batches: one slot per
	// unit of credit (ReadWindow), nil when empty. A Recycle that finds
	// every slot full drops its slice. A runner that streamed keeps at
	// most ReadWindow × ReadBatch empty envelopes (64 B each: 64 KiB at
	// the defaults); an idle one's batches are too small to keep.
	spareEnvs []atomic.Pointer[[]*exov1.RunnerEnvelope]
	// drop lists the tasks whose chunk frames the reader discards
	// undecoded (DropChunksOf); nil when none.
	drop atomic.Pointer[dropList]
	// credit holds one token per Frames batch the reader may still
	// deliver; the reader takes one before each batch, Release puts one
	// back. Capacity ReadWindow, never closed: Release never blocks since
	// at most ReadWindow tokens are out.
	credit chan struct{}
	// outAbort ends the reader's wait for credit (ForceCloseOutput).
	outAbort     chan struct{} // sole sender: ForceCloseOutput, once (outAbortOnce)
	outAbortOnce sync.Once
	// goroutines counts the reader, stderr reader, waiter and writer still
	// running; the last one out removes the process from the spawner's
	// books (Spawner.Start).
	goroutines atomic.Int32

	mu     sync.Mutex // guards reaped against Signal
	reaped bool
}

// Start starts spec as generation gen, delivering everything to deliver.
func (s *Spawner) Start(spec Spec, gen uint64, deliver Deliver, opts Options) (*Process, error) {
	if opts.InputQueue <= 0 {
		opts.InputQueue = 256
	}
	if opts.StderrLineMax <= 0 {
		opts.StderrLineMax = 4096
	}
	if opts.StderrBuffer <= 0 {
		opts.StderrBuffer = DefaultStderrBuffer
	}
	if opts.ReadWindow <= 0 {
		opts.ReadWindow = DefaultReadWindow
	}
	if opts.ReadBatch <= 0 {
		opts.ReadBatch = DefaultReadBatch
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	if cmd.Err != nil {
		return nil, startError(spec.Path, cmd.Err)
	}
	cmd.Env = spec.Env
	cmd.Dir = spec.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}

	var files []*os.File
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return
	}
	stdinR, stdinW, err := pipe()
	if err != nil {
		return nil, &StartError{Path: spec.Path, Err: fmt.Errorf("stdin pipe: %w", err)}
	}
	stdoutR, stdoutW, err := pipe()
	if err != nil {
		closeAll()
		return nil, &StartError{Path: spec.Path, Err: fmt.Errorf("stdout pipe: %w", err)}
	}
	stderrR, stderrW, err := pipe()
	if err != nil {
		closeAll()
		return nil, &StartError{Path: spec.Path, Err: fmt.Errorf("stderr pipe: %w", err)}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, stdoutW, stderrW

	if err := s.start(cmd); err != nil {
		closeAll()
		serr := startError(spec.Path, err)
		if se := serr.(*StartError); se.NotFound && errors.Is(err, fs.ErrNotExist) {
			if i := BadInterpreter(cmd.Path, spec.Dir, cmd.Env); i != nil {
				se.Interpreter = i.String()
			}
		}
		return nil, serr
	}
	// The child has its own copies now; ours would keep the pipes open forever.
	stdinR.Close()
	stdoutW.Close()
	stderrW.Close()

	p := &Process{
		Gen:      gen,
		Pid:      cmd.Process.Pid,
		Started:  time.Now(),
		cmd:      cmd,
		in:       make(chan *exov1.SupervisorEnvelope, opts.InputQueue),
		stdinW:   stdinW,
		abort:    make(chan struct{}),
		stdoutR:  stdoutR,
		stderrR:  stderrR,
		errBuf:   stderrBuffer{max: opts.StderrBuffer},
		credit:   make(chan struct{}, opts.ReadWindow),
		outAbort: make(chan struct{}),

		spareEnvs: make([]atomic.Pointer[[]*exov1.RunnerEnvelope], opts.ReadWindow),
	}
	for range opts.ReadWindow {
		p.credit <- struct{}{}
	}
	maxFrame := opts.MaxFrameSize
	if maxFrame <= 0 {
		maxFrame = frame.DefaultMaxSize
	}
	stall := opts.FrameStall
	if stall == 0 {
		stall = DefaultFrameStall
	}
	p.maxFrame = maxFrame
	// Direct writes only on a non-blocking pipe (os.Pipe makes one): a
	// blocking write(2) from the owner would stall it on a full pipe.
	if rc, err := stdinW.SyscallConn(); err == nil {
		nonblock := false
		_ = rc.Control(func(fd uintptr) {
			fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
			nonblock = err == nil && fl&unix.O_NONBLOCK != 0
		})
		if nonblock {
			p.stdinRC = rc
		}
	}
	s.mu.Lock()
	s.live[p] = struct{}{}
	s.mu.Unlock()
	s.procs.Add(1)
	// The process's last goroutine out removes it from the spawner's books
	// and tells Spawner.Close, which waits for it (no fifth goroutine
	// waiting for the four: its stack was ~5 KiB of every runner).
	p.goroutines.Store(4)
	done := func() {
		if p.goroutines.Add(-1) == 0 {
			s.mu.Lock()
			delete(s.live, p)
			s.mu.Unlock()
			s.procs.Done()
		}
	}
	go func() { defer done(); p.readStdout(deliver, maxFrame, opts.ReadBatch, stall) }()
	go func() { defer done(); p.readStderr(deliver, opts.StderrLineMax) }()
	go func() { defer done(); p.wait(deliver) }()
	go func() { defer done(); p.writeStdin(deliver, stdinW, maxFrame) }()
	return p, nil
}

// BadInterpreter says what is wrong when path is a script whose #! line
// cannot run it, and what to do about it; nil when path is no such script
// or its line looks right. A relative path, the script's or the
// interpreter's, is taken from dir, as the child's exec takes it (the
// child runs in dir; with no dir, in this process's working directory).
// The #! line is read as the kernel reads it: the interpreter runs to the
// first space or tab and the rest is one argument, so a line that ends in a
// carriage return (a script saved with Windows line endings) names an
// interpreter, or passes an argument, that ends in one. An interpreter
// that is missing makes exec fail with ENOENT, as if the script itself
// were missing (StartError); one run through env ("#!/usr/bin/env
// python3") starts, and env exits 127 when it finds no such program in the
// PATH of envList, the runner's environment (nil: this process's), so that
// program is looked up there too.
func BadInterpreter(path, dir string, envList []string) *Interpreter {
	if !filepath.IsAbs(path) && dir != "" {
		path = filepath.Join(dir, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	head := make([]byte, 256)
	n, _ := io.ReadFull(f, head)
	line, _, _ := strings.Cut(string(head[:n]), "\n")
	rest, ok := strings.CutPrefix(line, "#!")
	if !ok {
		return nil
	}
	unix, crlf := strings.CutSuffix(rest, "\r")
	if !crlf {
		return badShebang(rest, dir, envList)
	}
	// Windows line endings: the name the kernel or env looks for ends in
	// a carriage return. Say what else the line will meet once converted,
	// so that one fix is enough.
	interp, arg := splitShebang(rest)
	env := filepath.Base(interp) == "env"
	if env && strings.HasPrefix(arg, "-") {
		// env's own options (-S splits the rest, a carriage return as
		// blank): not judged, so neither is the line's end.
		return badShebang(unix, dir, envList)
	}
	const why = "the line ends in a carriage return (the script has Windows line endings)"
	const convert = "convert the script to Unix line endings, e.g. with dos2unix"
	i := &Interpreter{
		Problem: fmt.Sprintf("its #! line names %q, which does not exist: %s", interp, why),
		Fix:     fmt.Sprintf("%s, so that its #! line names %s", convert, strings.TrimSuffix(interp, "\r")),
	}
	// What the argument is once converted: the kernel drops the blanks at
	// the line's end.
	base := strings.TrimRight(strings.TrimSuffix(arg, "\r"), " \t")
	switch {
	case arg == "":
	case env:
		i.Problem = fmt.Sprintf("its #! line runs %q through %s, which finds no such program: %s", arg, interp, why)
		i.Fix = fmt.Sprintf("%s, so that its #! line runs %s", convert, base)
		if base == "" {
			i.Fix = fmt.Sprintf("%s, and name the program after %s", convert, interp)
		}
	default:
		i.Problem = fmt.Sprintf("its #! line hands %s the argument %q: %s", interp, arg, why)
		i.Fix = fmt.Sprintf("%s, so that the argument is %s", convert, base)
		if base == "" {
			i.Fix = fmt.Sprintf("%s, so that the line hands %s no argument", convert, interp)
		}
	}
	if after := badShebang(unix, dir, envList); after != nil {
		i.Problem += "; converted, " + after.Problem
		i.Fix += ", and " + after.Fix
		i.Missing, i.NoDir = after.Missing, after.NoDir
	}
	return i
}

// splitShebang splits what follows a #! as the kernel does: the
// interpreter up to the first space or tab, then one argument (leading
// blanks dropped; trailing ones too, as the kernel drops them).
func splitShebang(rest string) (interp, arg string) {
	interp = strings.TrimLeft(rest, " \t")
	if i := strings.IndexAny(interp, " \t"); i >= 0 {
		interp, arg = interp[:i], strings.Trim(interp[i:], " \t")
	}
	return interp, arg
}

// badShebang checks what follows a #! (without a carriage return at its
// end): BadInterpreter.
func badShebang(rest, dir string, env []string) *Interpreter {
	interp, arg := splitShebang(rest)
	if interp == "" {
		return &Interpreter{Problem: "its #! line names no interpreter", Fix: "write the interpreter's path after the #!"}
	}
	at := interp
	if !filepath.IsAbs(at) && dir != "" {
		at = filepath.Join(dir, at)
	}
	fi, err := os.Stat(at)
	switch {
	case errors.Is(err, fs.ErrNotExist) && at != interp:
		return &Interpreter{
			Problem: fmt.Sprintf("its #! line names %s, which does not exist (a relative interpreter is taken from the runner's directory: %s)", interp, at),
			Fix:     "install it there, or give the #! line the interpreter's absolute path",
			Missing: true,
		}
	case errors.Is(err, fs.ErrNotExist) && !filepath.IsAbs(interp):
		wd, _ := os.Getwd()
		return &Interpreter{
			Problem: fmt.Sprintf("its #! line names %s, which does not exist (a relative interpreter is taken from the runner's directory, and a runner without one runs in its supervisor's: %s)", interp, wd),
			Fix:     "give the #! line the interpreter's absolute path, or give the runner the directory the path starts from (RunnerSpec.Dir)",
			Missing: true,
			NoDir:   true,
		}
	case errors.Is(err, fs.ErrNotExist):
		return &Interpreter{
			Problem: fmt.Sprintf("its #! line names %s, which does not exist", interp),
			Fix:     "install it, or fix the script's #! line",
			Missing: true,
		}
	case err != nil:
		return &Interpreter{
			Problem: fmt.Sprintf("its #! line names %s, which cannot be reached (%v)", interp, errors.Unwrap(err)),
			Fix:     "fix the permissions of its directories, or the script's #! line",
		}
	case !isExecutableFile(fi):
		return &Interpreter{
			Problem: fmt.Sprintf("its #! line names %s, which is not an executable file", interp),
			Fix:     "fix the script's #! line, or chmod +x the interpreter if it is one",
		}
	}
	if filepath.Base(interp) == "env" {
		return badEnvProgram(interp, arg, dir, env)
	}
	return nil
}

// badEnvProgram checks the program a "#!/usr/bin/env PROGRAM" line runs:
// env looks it up in the PATH of the runner's environment (env; nil: this
// process's), and the kernel hands env everything after its name as one
// argument, spaces included.
func badEnvProgram(interp, arg, dir string, env []string) *Interpreter {
	if arg == "" || strings.HasPrefix(arg, "-") {
		return nil // no program, or env's own options (-S): not judged here
	}
	if strings.ContainsAny(arg, " \t") {
		return &Interpreter{
			Problem: fmt.Sprintf("its #! line hands %s %q as one program name (the kernel passes everything after the interpreter as one argument)", interp, arg),
			Fix:     fmt.Sprintf("write #!%s -S %s, or the interpreter's absolute path and its options after the #!", interp, arg),
		}
	}
	if strings.Contains(arg, "/") {
		at := arg
		if !filepath.IsAbs(at) && dir != "" {
			at = filepath.Join(dir, at)
		}
		if fi, err := os.Stat(at); err != nil || !isExecutableFile(fi) {
			return &Interpreter{
				Problem: fmt.Sprintf("its #! line runs %s through %s, which is not an executable file", arg, interp),
				Fix:     "install it, or fix the script's #! line",
				Missing: true,
			}
		}
		return nil
	}
	pathList, found := os.LookupEnv("PATH")
	if env != nil {
		pathList, found = EnvPATH(env)
	}
	if !found {
		pathList = "/bin:/usr/bin" // what env's execvp searches without a PATH
	}
	if FindExecutable(arg, pathList, dir) != "" {
		return nil
	}
	return &Interpreter{
		Problem: fmt.Sprintf("its #! line runs %s through %s, which finds no %s in the runner's PATH (%s)", arg, interp, arg, pathList),
		Fix:     fmt.Sprintf("install %s, add its directory to the runner's PATH, or fix the script's #! line", arg),
		Missing: true,
	}
}

// BadInterpreter is BadInterpreter of the program p runs, with its
// directory and environment: for a process that exited 126 or 127 before
// it spoke (env found no such program, or a shell could not run it), it
// says whether the #! line was why. Safe from the owner only.
func (p *Process) BadInterpreter() *Interpreter {
	return BadInterpreter(p.cmd.Path, p.cmd.Dir, p.cmd.Env)
}

// EnvPATH returns the last PATH=… of env (the one a process with that
// environment sees), if any.
func EnvPATH(env []string) (string, bool) {
	p, ok := "", false
	for _, e := range env {
		if v, found := strings.CutPrefix(e, "PATH="); found {
			p, ok = v, true
		}
	}
	return p, ok
}

// FindExecutable looks name up in the directories of pathList as a
// process running in dir would (an empty entry is ".", a relative one is
// taken from dir), and returns the first executable regular file found
// there, or "".
func FindExecutable(name, pathList, dir string) string {
	for _, d := range filepath.SplitList(pathList) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) && dir != "" {
			d = filepath.Join(dir, d)
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && isExecutableFile(fi) {
			return p
		}
	}
	return ""
}

// isExecutableFile: a regular file with an execute bit.
func isExecutableFile(fi fs.FileInfo) bool {
	return fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// Interpreter is what BadInterpreter found wrong with a script's #! line.
type Interpreter struct {
	// Problem says what is wrong: "its #! line names /usr/bin/python9,
	// which does not exist".
	Problem string
	// Fix says what to do about it: "install it, or fix the script's #!
	// line".
	Fix string
	// Missing: the named interpreter does not exist (a command that names
	// the interpreter, with the script as its argument, is then another
	// way out).
	Missing bool
	// NoDir: the interpreter is relative and the runner has no directory
	// of its own to take it from.
	NoDir bool
}

// String is Problem and Fix in one text.
func (i *Interpreter) String() string { return i.Problem + "; " + i.Fix }

// MissingInterpreter is BadInterpreter's problem and fix in one text, ""
// when there is none.
func MissingInterpreter(path, dir string) string {
	if i := BadInterpreter(path, dir, nil); i != nil {
		return i.String()
	}
	return ""
}

func startError(path string, err error) error {
	nf := errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOEXEC)
	return &StartError{Path: path, NotFound: nf, Err: err}
}

// Send hands a frame to the runner's stdin without blocking. When nothing
// is queued for the writer goroutine and the pipe has room, Send writes the
// frame itself (writeDirect): one goroutine hand-off less on the way to the
// runner, which is most of a task's dispatch latency on an idle machine.
// Otherwise it queues the frame for the writer. ErrInputFull means the
// runner stopped reading (it may be hung).
func (p *Process) Send(env *exov1.SupervisorEnvelope) error {
	if p.inDone {
		return ErrInputClosed
	}
	if p.writeDirect(env) {
		return nil
	}
	p.queued.Add(1) // before the send: the writer decrements after it
	select {
	case p.in <- env:
		return nil
	default:
		p.queued.Add(-1)
		return ErrInputFull
	}
}

// pipeAtomic is PIPE_BUF on Linux: a write of at most this many bytes to a
// pipe is all or nothing, never partial.
const pipeAtomic = 4096

// writeDirect writes env to stdin from the owner's goroutine, if that
// keeps the order and cannot block: the writer goroutine has nothing queued
// or in hand (queued is 0 under wmu, which the writer holds while it
// writes), the frame fits in one atomic pipe write, and the pipe has room
// now (one non-blocking write(2); EAGAIN means no). It reports whether the
// frame was written; if not, nothing was, and the caller queues it (so
// errors are the writer's to find and report, as before).
func (p *Process) writeDirect(env *exov1.SupervisorEnvelope) bool {
	if p.stdinRC == nil || p.writeBroken.Load() || p.queued.Load() != 0 || !p.wmu.TryLock() {
		return false
	}
	defer p.wmu.Unlock()
	if p.queued.Load() != 0 {
		return false
	}
	size := proto.Size(env)
	if size > p.maxFrame {
		return false
	}
	buf := protowire.AppendVarint(p.direct[:0], uint64(size))
	buf, err := proto.MarshalOptions{}.MarshalAppend(buf, env)
	if cap(buf) <= pipeAtomic {
		p.direct = buf[:0] // keep a small buffer for the next frame
	}
	if err != nil || len(buf) > pipeAtomic {
		return false
	}
	var (
		n    int
		werr error
	)
	err = p.stdinRC.Write(func(fd uintptr) bool {
		n, werr = unix.Write(int(fd), buf)
		return true // one attempt: never wait for the poller
	})
	return err == nil && werr == nil && n == len(buf)
}

// CloseInput tells the writer that no more frames come; it closes the runner's
// stdin after writing what is queued, then delivers WriterClosed. Idempotent.
func (p *Process) CloseInput() {
	if p.inDone {
		return
	}
	p.inDone = true
	close(p.in) // sole sender: the process owner (runner actor), via Send/CloseInput
}

// ForceCloseOutput closes the parent's read ends of stdout and stderr, which
// ends the readers even if a process outside the group still holds the write
// ends. Use it only after the process was reaped and the readers lag. Safe
// from any goroutine and more than once (os.File.Close is).
func (p *Process) ForceCloseOutput() {
	p.outAbortOnce.Do(func() {
		close(p.outAbort) // sole sender: ForceCloseOutput, once
	})
	p.stdoutR.Close()
	p.stderrR.Close()
}

// ForceCloseInput closes the parent's write end of stdin, which ends a
// writer blocked in Write because the runner (or a process outside its group
// holding its stdin) stopped reading. The writer then drops what is queued
// and ends at once, whether or not the owner called CloseInput. Safe from any
// goroutine and more than once.
func (p *Process) ForceCloseInput() {
	p.abortOnce.Do(func() {
		close(p.abort) // sole sender: ForceCloseInput, once
	})
	p.stdinW.Close()
}

// forceCloseAll closes every pipe end we hold.
func (p *Process) forceCloseAll() {
	p.ForceCloseOutput()
	p.ForceCloseInput()
}

// Signal sends sig to the whole process group, unless the leader was already
// reaped (then the group was swept and its ID may be reused): ErrReaped.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.reaped {
		return ErrReaped
	}
	if err := syscall.Kill(-p.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %s to process group %d: %w", sig, p.Pid, err)
	}
	return nil
}

// stdoutBufferSize is the stdout reader's buffer. A token frame is about 64
// bytes, so it holds over a hundred of them per read system call; a frame
// larger than the buffer (up to the frame size limit) frame.Reader reads into
// a buffer of its own. It lives as long as the runner, which mostly idles,
// so it is kept small (frame.ReadBufferSize, 64 KiB, is the default).
const stdoutBufferSize = 8 << 10

// Recycle hands f's slice and its envelopes back to the stdout reader for a
// later batch, once the owner has handled f's frames: the reader decodes
// its next frames into the same envelopes. The owner must keep no pointer
// to any envelope of f, nor to its Body wrapper (what a body points to, a
// ChunkGenerated say, stays the owner's: Recycle only drops each
// envelope's body, and the reader decodes every frame into new messages
// below the envelope, never into the old ones). Optional; safe from any goroutine; f
// must not be used afterwards.
func (p *Process) Recycle(f *Frames) {
	envs := f.Envs
	f.Envs = nil
	if cap(envs) < recycleMinFrames {
		return // small batches (an idle runner's) are cheap to allocate: keep nothing
	}
	// Drop each body, so the spare keeps none alive (the reader resets
	// an envelope as it decodes into it). Past its length the slice holds
	// envelopes the reader did not fill in this batch: emptied when they
	// were recycled before, or left by the read that ended the reader.
	for _, env := range envs {
		env.Body = nil
	}
	envs = envs[:0]
	for i := range p.spareEnvs {
		if p.spareEnvs[i].CompareAndSwap(nil, &envs) {
			return
		}
	}
}

// spare takes a recycled batch slice, nil when there is none.
func (p *Process) spare() []*exov1.RunnerEnvelope {
	for i := range p.spareEnvs {
		if sp := p.spareEnvs[i].Swap(nil); sp != nil {
			return *sp
		}
	}
	return nil
}

// recycleMinFrames is the smallest batch slice Recycle keeps.
const recycleMinFrames = 16

// Release returns one unit of the stdout reader's credit: the owner is done
// with one Frames batch. Safe from any goroutine (the stream that took the
// batch's events on may call it); never blocks. A Release beyond the batches
// delivered is ignored.
func (p *Process) Release() {
	select {
	case p.credit <- struct{}{}:
	default:
	}
}

// readStdout decodes stdout frames and delivers them in Frames batches: one
// blocking Read, then every whole frame already buffered (FrameBuffered), up
// to batchMax frames or readBatchBytes. Before each delivery it takes one
// unit of credit, waiting for a Release when the owner has ReadWindow
// batches in hand; while it waits it does not read, so a runner that writes
// faster than the node consumes fills its pipe and blocks in write, and the
// node holds at most ReadWindow batches of it. ForceCloseOutput ends a wait.
func (p *Process) readStdout(deliver Deliver, maxFrame, batchMax int, stall time.Duration) {
	r := frame.NewReader(bufio.NewReaderSize(p.stdoutR, stdoutBufferSize), frame.WithMaxSize(maxFrame),
		frame.WithStallTimeout(stall, p.stdoutR), frame.WithFastDecode(new(chunkDecoder).decode))
	for {
		var envs []*exov1.RunnerEnvelope
		var err error
		start := r.Offset()
		for {
			if d := p.drop.Load(); d != nil {
				// Chunks of tasks the owner discards anyway: skip them
				// without decoding (DropChunksOf). With nothing in hand,
				// wait for bytes first, so that a read's first frame is
				// looked at too, and wait again while all that came was
				// skipped; with a batch in hand, never wait.
				if len(envs) == 0 {
					for r.Await() == nil && r.Skip(d.match) > 0 {
						if d = p.drop.Load(); d == nil {
							break // the list changed while we waited: read as usual
						}
					}
				} else if r.Skip(d.match); !r.FrameBuffered() {
					break
				}
			}
			if envs == nil {
				if envs = p.spare(); envs == nil {
					envs = make([]*exov1.RunnerEnvelope, 0, 1)
				}
			}
			// A recycled slice holds, past its length, the envelopes of
			// the batch it carried (Recycle): decode into the next one.
			var env *exov1.RunnerEnvelope
			if len(envs) < cap(envs) {
				env = envs[:len(envs)+1][len(envs)]
			}
			if env == nil {
				env = new(exov1.RunnerEnvelope)
			}
			if err = r.Read(env); err != nil {
				break
			}
			envs = append(envs, env)
			if len(envs) >= batchMax || r.Offset()-start >= readBatchBytes || !r.FrameBuffered() {
				break
			}
		}
		if len(envs) > 0 {
			p.takeCredit()
			deliver(&Frames{Gen: p.Gen, Envs: envs})
		}
		if err != nil {
			if err == io.EOF {
				err = nil // clean end of stream between frames
			}
			p.stdoutR.Close()
			deliver(&ReaderClosed{Gen: p.Gen, Err: err, Frames: r.Frames(), Skipped: r.Skipped()})
			return
		}
	}
}

// takeCredit waits for one unit of credit, or for ForceCloseOutput (then the
// batch goes without: the owner is ending the process and the reader ends
// at its next read of the closed pipe).
func (p *Process) takeCredit() {
	select {
	case <-p.credit:
	case <-p.outAbort:
	}
}

func (p *Process) readStderr(deliver Deliver, lineMax int) {
	splitLines(p.stderrR, lineMax, func(line []byte, truncated int) {
		if p.errBuf.push(StderrLine{Gen: p.Gen, Line: string(line), Truncated: truncated, At: time.Now()}) {
			deliver(&StderrReady{Gen: p.Gen})
		}
	})
	p.stderrR.Close()
	deliver(&StderrClosed{Gen: p.Gen})
}

// TakeStderr returns the stderr lines read since the last take, oldest
// first, and how many lines were dropped unread because the buffer was
// full (Options.StderrBuffer). Safe from any goroutine; after it the reader
// rings (StderrReady) at its next line.
func (p *Process) TakeStderr() (lines []StderrLine, dropped int) { return p.errBuf.take() }

func (p *Process) wait(deliver Deliver) {
	// Wait for the leader's exit without reaping it, so Signal can still
	// address the group safely until we hold the lock. Parked on a pidfd
	// first, the blocking waitid below then returns at once.
	p.parkUntilExit()
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == nil || !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	p.mu.Lock()
	// Sweep whatever the runner left in its group before the ID can be reused.
	_ = syscall.Kill(-p.Pid, syscall.SIGKILL)
	p.reaped = true
	p.mu.Unlock()

	err := p.cmd.Wait()
	st := ExitStatus{Code: -1}
	if ps := p.cmd.ProcessState; ps != nil {
		if ws, ok := ps.Sys().(syscall.WaitStatus); ok {
			switch {
			case ws.Signaled():
				st.Signal = ws.Signal()
				st.CoreDump = ws.CoreDump()
			case ws.Exited():
				st.Code = ws.ExitStatus()
			}
		}
	} else if err != nil {
		st.Err = err
	}
	now := time.Now()
	st.Lifetime = now.Sub(p.Started)
	deliver(&Exited{Gen: p.Gen, Status: st, At: now})
}

// parkUntilExit returns once the leader has exited (it is then waitable,
// not reaped), or at once if that cannot be waited for without a thread. It
// parks the goroutine in the netpoller on a pidfd (readable once the process
// exited), so an idle runner costs no OS thread: a waitid that blocks holds
// one for the runner's whole life, with its stacks. Without pidfd support
// (Linux < 5.10) it returns at once and wait blocks in waitid as before.
// Nobody else reaps the leader, so its PID cannot be reused before
// pidfd_open: it refers to this process.
func (p *Process) parkUntilExit() {
	fd, err := unix.PidfdOpen(p.Pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return
	}
	// Non-blocking, so os.NewFile registers it with the netpoller; Close
	// unregisters and closes it.
	f := os.NewFile(uintptr(fd), "pidfd")
	defer f.Close()
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	// Read calls the function, and while it returns false waits until the
	// pidfd is readable and calls it again. An error (e.g. a file the
	// poller does not take) ends the wait: waitid blocks instead.
	_ = rc.Read(func(pidfd uintptr) bool {
		var (
			info unix.Siginfo
			err  error
		)
		for {
			err = unix.Waitid(unix.P_PIDFD, int(pidfd), &info, unix.WEXITED|unix.WNOWAIT|unix.WNOHANG, nil)
			if !errors.Is(err, syscall.EINTR) {
				break
			}
		}
		if err != nil {
			return true // e.g. no P_PIDFD (Linux < 5.4): waitid blocks instead
		}
		// With WNOHANG and no exit yet, Linux leaves Signo 0; on exit it is
		// SIGCHLD. Returning false waits for the pidfd's next readiness.
		return info.Signo != 0
	})
}

func (p *Process) writeStdin(deliver Deliver, stdinW *os.File, maxFrame int) {
	w := frame.NewWriter(stdinW, frame.WithMaxSize(maxFrame))
	var firstErr error
	dropped := 0
loop:
	for {
		var env *exov1.SupervisorEnvelope
		select {
		case e, ok := <-p.in:
			if !ok {
				break loop
			}
			env = e
		case <-p.abort:
			dropped += len(p.in)
			break loop
		}
		if firstErr != nil {
			dropped++ // keep draining so Send never sees a spurious full queue
			p.queued.Add(-1)
			continue
		}
		p.wmu.Lock() // no direct write while this frame is written
		err := w.Write(env)
		if err != nil {
			p.writeBroken.Store(true)
		}
		p.queued.Add(-1)
		p.wmu.Unlock()
		if err != nil {
			firstErr = fmt.Errorf("write to runner stdin: %w", err)
			deliver(&WriteFailed{Gen: p.Gen, Err: firstErr})
		}
	}
	stdinW.Close()
	deliver(&WriterClosed{Gen: p.Gen, Err: firstErr, Dropped: dropped})
}

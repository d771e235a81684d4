package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/internal/frame"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// heartbeatInterval is what a node asks of its runners by default
// (RunnerTimeouts.HeartbeatInterval); the floors ask the same.
const heartbeatInterval = protocol.DefaultHeartbeatInterval

// child is one process of the bench's binary, started for a floor, with
// pipes to its stdin and from its stdout. Whoever starts one calls stop on
// every path: stop kills it if it still runs and reaps it.
type child struct {
	set *childSet
	cmd *exec.Cmd
	in  *os.File // the parent's end of the child's stdin
	out *os.File // the parent's end of the child's stdout
	fw  *frame.Writer
	fr  *frame.Reader
	// br is fr's buffer: the honest events floor reads it with protodelim
	// directly (no envelope checks), sharing what fr has buffered.
	br *bufio.Reader

	reap     sync.Once // exactly one cmd.Wait per child
	waitErr  error
	reapedAt time.Time
}

// startChild starts the bench binary with args.
func (b *bencher) startChild(args ...string) (*child, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdin pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	cmd := exec.Command(b.bin, args...)
	cmd.Env = b.env
	cmd.Stdin, cmd.Stdout = inR, outW
	if b.cfg.ChildStderr != nil {
		cmd.Stderr = b.cfg.ChildStderr
	}
	err = cmd.Start()
	// The child holds its own copies now; ours would keep the pipes open.
	inR.Close()
	outW.Close()
	if err != nil {
		inW.Close()
		outR.Close()
		return nil, fmt.Errorf("start %s %v: %w", b.bin, args, err)
	}
	br := bufio.NewReaderSize(outR, frame.ReadBufferSize)
	c := &child{set: &b.children, cmd: cmd, in: inW, out: outR, fw: frame.NewWriter(inW), fr: frame.NewReader(br), br: br}
	b.children.add(c)
	return c, nil
}

// childSet holds the children that have not been stopped yet, so a guard
// can kill them all when a measurement's context ends: a floor reads its
// children's pipes without a context, and their end is what unblocks it.
type childSet struct {
	mu   sync.Mutex
	live map[*child]struct{}
}

func (s *childSet) add(c *child) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live == nil {
		s.live = map[*child]struct{}{}
	}
	s.live[c] = struct{}{}
}

func (s *childSet) remove(c *child) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.live, c)
}

// killAll sends SIGKILL to every live child; their owners still reap them.
func (s *childSet) killAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.live {
		c.kill()
	}
}

// guard kills every child of b once ctx ends, until the returned function
// is called (which waits for the guard's goroutine).
func (b *bencher) guard(ctx context.Context) (release func()) {
	done := make(chan struct{}) // sole sender: release, which closes it once
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			b.children.killAll()
		case <-done:
		}
	}()
	return func() {
		close(done) // sole sender: release
		wg.Wait()
	}
}

// startRunner starts `exo-actors runner` with the flags of the measured
// runners.
func (b *bencher) startRunner() (*child, error) {
	return b.startChild(append([]string{"runner"}, runnerArgs...)...)
}

// wait reaps the child (once, whoever calls first; later calls wait for the
// first) and returns when its Wait returned.
func (c *child) wait() (time.Time, error) {
	c.reap.Do(func() {
		c.waitErr = c.cmd.Wait()
		c.reapedAt = time.Now()
	})
	return c.reapedAt, c.waitErr
}

// kill sends SIGKILL; after the child was reaped it does nothing (os.Process
// holds a pidfd, so a reused PID is never hit).
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
}

// stop ends the child on any path: closes its stdin, kills it, reaps it and
// closes the parent's ends of the pipes. Safe to call more than once and
// while another goroutine reads its stdout or waits for it.
func (c *child) stop() {
	c.set.remove(c)
	c.in.Close()
	c.kill()
	_, _ = c.wait()
	c.out.Close()
}

// handshake reads a runner's Hello and accepts it as a node would; it
// returns when the Hello arrived (before answering).
func (c *child) handshake() (time.Time, error) {
	hello := &exov1.RunnerEnvelope{}
	if err := c.fr.Read(hello); err != nil {
		return time.Time{}, fmt.Errorf("reading Hello: %w", err)
	}
	at := time.Now()
	h := hello.GetHello()
	if h == nil {
		return at, fmt.Errorf("first frame is %T, not Hello", hello.GetBody())
	}
	v, err := protocol.Negotiate(h.GetMinVersion(), h.GetMaxVersion(), protocol.MinVersion, protocol.MaxVersion)
	if err != nil {
		return at, err
	}
	err = c.fw.Write(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_HelloAccepted{HelloAccepted: &exov1.HelloAccepted{
		Version: v, RunnerId: h.GetRunnerId(), HeartbeatInterval: durationpb.New(heartbeatInterval)}}})
	return at, err
}

// readUntilReady reads a handshaken runner's frames until it reports Ready.
func (c *child) readUntilReady() error {
	for {
		env := &exov1.RunnerEnvelope{}
		if err := c.fr.Read(env); err != nil {
			return fmt.Errorf("runner did not reach Ready: %w", err)
		}
		if env.GetStatusUpdated().GetStatus().GetKind() == statusReady {
			return nil
		}
	}
}

// sendShutdown sends the Shutdown frame a node's CLOSING phase sends
// (timeout: the default StopGrace).
func (c *child) sendShutdown() error {
	return c.fw.Write(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Shutdown{
		Shutdown: &exov1.Shutdown{Timeout: durationpb.New(3 * time.Second)}}})
}

// stopAll stops every child; for deferred cleanup.
func stopAll(cs []*child) {
	for _, c := range cs {
		if c != nil {
			c.stop()
		}
	}
}

// exitedCleanly reports whether a reaped child exited with status 0.
func exitedCleanly(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return fmt.Errorf("child ended badly: %s", ee.ProcessState)
	}
	return err
}

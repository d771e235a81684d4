package bench

import (
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/exo-actors/exo-actors/internal/builtinrunner"
	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// The floor children, first argument of `exo-actors bench-child`.
const (
	// ChildEcho reads SupervisorEnvelope frames on stdin and writes each
	// back on stdout: the floor of dispatch_*.
	ChildEcho = "echo"
	// ChildStream N answers each Task frame on stdin with N ChunkGenerated
	// frames for that task on stdout, built as the built-in runner builds
	// its tokens and written one write per frame: the floor of events_*.
	ChildStream = "stream"
)

// ChildSpec is a parsed `exo-actors bench-child` command line.
type ChildSpec struct {
	Kind string // ChildEcho or ChildStream
	N    int    // ChildStream: chunks per task
}

// Args returns the command line that starts this child (without the
// program name): bench-child echo | bench-child stream N.
func (s ChildSpec) Args() []string {
	if s.Kind == ChildStream {
		return []string{"bench-child", ChildStream, strconv.Itoa(s.N)}
	}
	return []string{"bench-child", s.Kind}
}

// ParseChildArgs parses the arguments of `exo-actors bench-child`; the error
// says what a valid command line is.
func ParseChildArgs(args []string) (ChildSpec, error) {
	const usage = "want 'bench-child echo' or 'bench-child stream N' (N from 1 to %d)"
	if len(args) == 0 {
		return ChildSpec{}, fmt.Errorf("no child kind: "+usage, builtinrunner.MaxMaxTokens)
	}
	switch args[0] {
	case ChildEcho:
		if len(args) != 1 {
			return ChildSpec{}, fmt.Errorf("echo takes no arguments, got %q: "+usage, args[1], builtinrunner.MaxMaxTokens)
		}
		return ChildSpec{Kind: ChildEcho}, nil
	case ChildStream:
		if len(args) != 2 {
			return ChildSpec{}, fmt.Errorf("stream takes one argument N: "+usage, builtinrunner.MaxMaxTokens)
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || n > builtinrunner.MaxMaxTokens {
			return ChildSpec{}, fmt.Errorf("stream %q: "+usage, args[1], builtinrunner.MaxMaxTokens)
		}
		return ChildSpec{Kind: ChildStream, N: n}, nil
	}
	return ChildSpec{}, fmt.Errorf("unknown child kind %q: "+usage, args[0], builtinrunner.MaxMaxTokens)
}

// Child runs a floor child: it serves frames from in until in ends (nil), or
// fails on a frame error or a write error.
func Child(spec ChildSpec, in io.Reader, out io.Writer) error {
	r := frame.NewReader(in)
	w := frame.NewWriter(out)
	for {
		env := &exov1.SupervisorEnvelope{} // a fresh message per frame, as the runner SDK reads
		if err := r.Read(env); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("bench-child %s: %w", spec.Kind, err)
		}
		var err error
		switch spec.Kind {
		case ChildEcho:
			err = w.Write(env)
		case ChildStream:
			t := env.GetTask()
			if t == nil {
				return fmt.Errorf("bench-child stream: want Task frames, got %T", env.GetBody())
			}
			err = streamChunks(w, t.GetId(), spec.N)
		default:
			return fmt.Errorf("bench-child: unknown kind %q", spec.Kind)
		}
		if err != nil {
			return fmt.Errorf("bench-child %s: %w", spec.Kind, err)
		}
	}
}

// streamChunks writes n token chunks for task id exactly as the built-in
// runner's text_generation does through the runner SDK: text "tok<i> ",
// index and token_id i, finish reason "length" on the last; one Write per
// frame.
func streamChunks(w *frame.Writer, id string, n int) error {
	for i := 0; i < n; i++ {
		tok := &exov1.TokenChunk{Text: fmt.Sprintf("tok%d ", i), TokenId: uint32(i)}
		if i == n-1 {
			tok.FinishReason = "length"
		}
		err := w.Write(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
			TaskId: id,
			Index:  uint64(i),
			Chunk:  &exov1.ChunkGenerated_Token{Token: tok},
		}}})
		if err != nil {
			return err
		}
	}
	return nil
}

package bench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func TestParseChildArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want ChildSpec
		err  string
	}{
		{[]string{"echo"}, ChildSpec{Kind: ChildEcho}, ""},
		{[]string{"stream", "20000"}, ChildSpec{Kind: ChildStream, N: 20000}, ""},
		{nil, ChildSpec{}, "no child kind"},
		{[]string{"echo", "x"}, ChildSpec{}, "echo takes no arguments"},
		{[]string{"stream"}, ChildSpec{}, "stream takes one argument N"},
		{[]string{"stream", "0"}, ChildSpec{}, `stream "0"`},
		{[]string{"stream", "many"}, ChildSpec{}, `stream "many"`},
		{[]string{"stream", "2000000"}, ChildSpec{}, `stream "2000000"`},
		{[]string{"sing"}, ChildSpec{}, `unknown child kind "sing"`},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			got, err := ParseChildArgs(tc.args)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "want 'bench-child echo'") {
					t.Fatalf("err = %v, want one containing %q and the usage", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("= %+v, %v; want %+v", got, err, tc.want)
			}
			if back, err := ParseChildArgs(got.Args()[1:]); err != nil || back != got {
				t.Errorf("Args() does not parse back: %v → %+v, %v", got.Args(), back, err)
			}
		})
	}
}

// frames encodes envelopes as the supervisor writes them.
func frames(t *testing.T, envs ...*exov1.SupervisorEnvelope) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	w := frame.NewWriter(&buf)
	for _, e := range envs {
		if err := w.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	return &buf
}

func TestChildEcho(t *testing.T) {
	in := []*exov1.SupervisorEnvelope{noopTask("bench-dispatch-000001"), noopTask("bench-dispatch-000002")}
	var out bytes.Buffer
	if err := Child(ChildSpec{Kind: ChildEcho}, frames(t, in...), &out); err != nil {
		t.Fatal(err)
	}
	r := frame.NewReader(&out)
	for i, want := range in {
		got := &exov1.SupervisorEnvelope{}
		if err := r.Read(got); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if !proto.Equal(got, want) {
			t.Errorf("frame %d = %v, want %v", i, got, want)
		}
	}
	if err := r.Read(&exov1.SupervisorEnvelope{}); !errors.Is(err, io.EOF) {
		t.Errorf("after the echoes: %v, want EOF", err)
	}
}

func TestChildStream(t *testing.T) {
	const n = 3
	var out bytes.Buffer
	task := &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: textTask("bench-events-000007", n)}}
	if err := Child(ChildSpec{Kind: ChildStream, N: n}, frames(t, task, task), &out); err != nil {
		t.Fatal(err)
	}
	// Each Task is answered with the chunks the built-in runner streams:
	// "tok<i> ", token_id i, finish reason "length" on the last.
	r := frame.NewReader(&out)
	for rep := 0; rep < 2; rep++ {
		for i := 0; i < n; i++ {
			got := &exov1.RunnerEnvelope{}
			if err := r.Read(got); err != nil {
				t.Fatalf("task %d chunk %d: %v", rep, i, err)
			}
			finish := ""
			if i == n-1 {
				finish = "length"
			}
			want := &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
				TaskId: "bench-events-000007", Index: uint64(i),
				Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: fmt.Sprintf("tok%d ", i), TokenId: uint32(i), FinishReason: finish}},
			}}}
			if !proto.Equal(got, want) {
				t.Errorf("task %d chunk %d = %v, want %v", rep, i, got, want)
			}
		}
	}
	if err := r.Read(&exov1.RunnerEnvelope{}); !errors.Is(err, io.EOF) {
		t.Errorf("after the chunks: %v, want EOF", err)
	}
}

// oneWrite counts Write calls.
type oneWrite struct {
	bytes.Buffer
	writes int
}

func (w *oneWrite) Write(p []byte) (int, error) { w.writes++; return w.Buffer.Write(p) }

func TestChildStreamWritesOncePerFrame(t *testing.T) {
	var out oneWrite
	task := &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: textTask("t", 5)}}
	if err := Child(ChildSpec{Kind: ChildStream, N: 5}, frames(t, task), &out); err != nil {
		t.Fatal(err)
	}
	if out.writes != 5 {
		t.Errorf("%d writes for 5 frames, want one per frame", out.writes)
	}
}

func TestChildRejects(t *testing.T) {
	var out bytes.Buffer
	err := Child(ChildSpec{Kind: ChildStream, N: 1}, frames(t, &exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Ping{Ping: &exov1.Ping{}}}), &out)
	if err == nil || !strings.Contains(err.Error(), "want Task frames") {
		t.Errorf("a Ping to the stream child: %v", err)
	}
	err = Child(ChildSpec{Kind: ChildEcho}, strings.NewReader("\x05ab"), &out)
	var fe *frame.Error
	if !errors.As(err, &fe) || !errors.Is(err, frame.ErrTruncated) {
		t.Errorf("a truncated frame: %v (%v)", err, reflect.TypeOf(errors.Unwrap(err)))
	}
}

package frame_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestSkip: Skip consumes whole buffered frames while drop reports them,
// stops at the first it does not (Read then decodes it), never reads from
// the stream, and keeps Frames and Offset the stream's positions.
func TestSkip(t *testing.T) {
	var stream bytes.Buffer
	w := frame.NewWriter(&stream)
	for _, env := range []*exov1.RunnerEnvelope{heartbeatEnvelope(1), heartbeatEnvelope(2), helloEnvelope(), heartbeatEnvelope(3)} {
		if err := w.Write(env); err != nil {
			t.Fatal(err)
		}
	}
	whole := stream.Len()
	r := frame.NewReader(bufio.NewReader(&stream))
	isHeartbeat := func(body []byte) bool {
		var env exov1.RunnerEnvelope
		return mustUnmarshal(body, &env) && env.GetHeartbeat() != nil
	}
	if n := r.Skip(isHeartbeat); n != 0 {
		t.Fatalf("Skip before anything was buffered skipped %d frames; it must not read", n)
	}
	if err := r.Await(); err != nil {
		t.Fatal(err)
	}
	if n := r.Skip(isHeartbeat); n != 2 {
		t.Fatalf("Skip = %d, want the 2 heartbeats before Hello", n)
	}
	if r.Frames() != 2 || r.Skipped() != 2 {
		t.Errorf("Frames %d, Skipped %d; want 2 and 2", r.Frames(), r.Skipped())
	}
	var env exov1.RunnerEnvelope
	if err := r.Read(&env); err != nil || env.GetHello() == nil {
		t.Fatalf("Read after Skip: %v, %v; want the Hello", err, &env)
	}
	if n := r.Skip(isHeartbeat); n != 1 {
		t.Fatalf("Skip = %d, want the last heartbeat", n)
	}
	if r.Frames() != 4 || r.Skipped() != 3 || r.Offset() != int64(whole) {
		t.Errorf("Frames %d, Skipped %d, Offset %d; want 4, 3, %d", r.Frames(), r.Skipped(), r.Offset(), whole)
	}
	if err := r.Await(); !errors.Is(err, io.EOF) {
		t.Errorf("Await at the end = %v, want io.EOF", err)
	}
	if err := r.Read(&env); err != io.EOF {
		t.Errorf("Read at the end = %v, want io.EOF", err)
	}
}

// TestSkipLeavesPartialAndBadFrames: a frame not all buffered, a bad length
// and an oversized one are left to Read, which reports them as before.
func TestSkipLeavesPartialAndBadFrames(t *testing.T) {
	all := func([]byte) bool { return true }
	hb := mustMarshal(t, heartbeatEnvelope(1))

	whole := rawFrame(hb)
	// One Read call per piece: the first leaves the frame a byte short.
	r := frame.NewReader(bufio.NewReader(&pieces{whole[:len(whole)-1], whole[len(whole)-1:]}))
	if err := r.Await(); err != nil {
		t.Fatal(err)
	}
	if n := r.Skip(all); n != 0 {
		t.Fatalf("Skip took %d frames of a frame a byte short", n)
	}
	var env exov1.RunnerEnvelope
	if err := r.Read(&env); err != nil || env.GetHeartbeat() == nil {
		t.Fatalf("Read of the frame Skip left: %v", err)
	}
	if r.Skipped() != 0 || r.Frames() != 1 {
		t.Errorf("Frames %d, Skipped %d; want 1 and 0", r.Frames(), r.Skipped())
	}

	for _, c := range []struct {
		name  string
		bytes []byte
		kind  error
	}{
		{"bad length", bytes.Repeat([]byte{0xff}, 11), frame.ErrBadLength},
		{"oversized", rawFrame(make([]byte, 64)), frame.ErrOversized},
	} {
		r := frame.NewReader(bufio.NewReader(bytes.NewReader(c.bytes)), frame.WithMaxSize(32))
		if err := r.Await(); err != nil {
			t.Fatal(err)
		}
		if n := r.Skip(all); n != 0 {
			t.Errorf("%s: Skip took %d frames", c.name, n)
		}
		if err := r.Read(&env); !errors.Is(err, c.kind) {
			t.Errorf("%s: Read after Skip = %v, want %v", c.name, err, c.kind)
		}
	}
}

// pieces returns one piece per Read call.
type pieces [][]byte

func (p *pieces) Read(b []byte) (int, error) {
	if len(*p) == 0 {
		return 0, io.EOF
	}
	n := copy(b, (*p)[0])
	(*p)[0] = (*p)[0][n:]
	if len((*p)[0]) == 0 {
		*p = (*p)[1:]
	}
	return n, nil
}

func mustUnmarshal(b []byte, env *exov1.RunnerEnvelope) bool {
	var r = frame.NewReader(bytes.NewReader(rawFrame(b)))
	return r.Read(env) == nil
}

package frame_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestReadTextOnStdout: text where a frame should start (a stray print) is
// diagnosed as text, with the line shown, whatever its first byte declares as
// a length, and never read as frames.
func TestReadTextOnStdout(t *testing.T) {
	hb := rawFrame(mustMarshal(t, heartbeatEnvelope(1)))
	hello := rawFrame(mustMarshal(t, helloEnvelope()))
	line48 := "Loading weights from /models/llama-3b (8 layers)\n"
	line21 := "generated 20 tokens.\n"
	line220 := strings.Repeat("token stream debug output ", 8) + "- end of a very long line\n"
	manyHB := bytes.Repeat(hb, 40) // more than the 111 bytes 'o' declares
	cases := []struct {
		name    string
		lead    []byte // valid frames before the text
		text    string
		after   []byte // what follows the text
		kind    error
		excerpt string
	}{
		{"48-char line before Hello", nil, line48, hello, frame.ErrTextOnStdout, `"` + strings.TrimSuffix(line48, "\n") + `"`},
		{"utf-8 line before Hello", nil, "Loading model…\n", hello, frame.ErrTextOnStdout, `"Loading model…"`},
		{"21-char line after Ready", hb, line21, manyHB, frame.ErrTextOnStdout, `"generated 20 tokens."`},
		{"220-char line", hb, line220, hb, frame.ErrTextOnStdout, `"` + line220[:80] + `"…`},
		// 'o' declares 111 bytes: the heartbeats behind it fill them, the
		// "frame" does not decode, and its start is text.
		{"short line, then frames enough to fill its length", hb, "ok\n", manyHB, frame.ErrTextOnStdout, `"ok"`},
		// The stream ends inside the would-be frame: truncated (the exit is
		// the diagnosis), but the text is shown.
		{"short line, then the stream ends", nil, "ok\n", hello, frame.ErrTruncated, `"ok"`},
		{"line without a newline", hb, "INFO this line never ends", nil, frame.ErrTextOnStdout, `"INFO this line never ends"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stream := append(append(append([]byte(nil), tc.lead...), tc.text...), tc.after...)
			r := frame.NewReader(bytes.NewReader(stream))
			for range bytes.Count(tc.lead, hb) {
				if err := r.Read(new(exov1.RunnerEnvelope)); err != nil {
					t.Fatalf("lead frame: %v", err)
				}
			}
			err := r.Read(new(exov1.RunnerEnvelope))
			var fe *frame.Error
			if !errors.As(err, &fe) || !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %v", err, tc.kind)
			}
			if fe.Offset != int64(len(tc.lead)) || !fe.Fatal() {
				t.Errorf("offset %d fatal %v; want %d, true", fe.Offset, fe.Fatal(), len(tc.lead))
			}
			if fe.Excerpt != tc.excerpt {
				t.Errorf("excerpt = %s\n          want %s", fe.Excerpt, tc.excerpt)
			}
			if !strings.Contains(err.Error(), frame.TextHint) {
				t.Errorf("Error() = %q, want the hint %q", err, frame.TextHint)
			}
			if tc.kind == frame.ErrTextOnStdout && !strings.Contains(err.Error(), "stdout is not frames: "+tc.excerpt) {
				t.Errorf("Error() = %q", err)
			}
		})
	}
}

// TestTextStream: a reader of another stream names it in the diagnosis.
func TestTextStream(t *testing.T) {
	r := frame.NewReader(strings.NewReader("hello, is this thing on?\n"), frame.TextStream("stdin", "typing into a runner?"))
	err := r.Read(new(exov1.SupervisorEnvelope))
	want := `frame 1 at byte 0: stdin is not frames: "hello, is this thing on?" (typing into a runner?)`
	if !errors.Is(err, frame.ErrTextOnStdout) || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// TestReadValidFramesAreNotText: frames whose first bytes are as printable as
// a valid frame's can be (printable lengths and tags, long strings, 3-byte
// length varints that are valid UTF-8) decode as frames.
func TestReadValidFramesAreNotText(t *testing.T) {
	long := strings.Repeat("the quick brown fox ", 40)
	msgs := []*exov1.RunnerEnvelope{
		helloEnvelope(),
		{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
			Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: long[:60]}}}}},
		{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{TaskId: long[:40],
			Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: long}}}}},
		{Body: &exov1.RunnerEnvelope_TerminationError{TerminationError: &exov1.TerminationError{Message: long[:70]}}},
		{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{TaskId: long[:50], Reason: long}}},
		{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{TasksCompleted: 10, PingNonce: 10}}},
		// About 600 KiB: a 3-byte length whose first two bytes are valid UTF-8.
		{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
			Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: strings.Repeat("e", 600<<10)}}}}},
	}
	var stream []byte
	for _, m := range msgs {
		stream = append(stream, rawFrame(mustMarshal(t, m))...)
	}
	r := frame.NewReader(bytes.NewReader(stream))
	for i, want := range msgs {
		got := new(exov1.RunnerEnvelope)
		if err := r.Read(got); err != nil || !proto.Equal(got, want) {
			t.Fatalf("frame %d: %v", i+1, err)
		}
	}
	if err := r.Read(new(exov1.RunnerEnvelope)); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

// readAsync starts r.Read in a goroutine; the channel gets its error.
func readAsync(r *frame.Reader) <-chan error {
	got := make(chan error, 1)
	go func() { got <- r.Read(new(exov1.RunnerEnvelope)) }()
	return got
}

// TestReadStall: on a pipe that stays open, a frame that began but stays
// incomplete past the stall bound is reported (as text when it is text);
// waiting between frames is not bounded.
func TestReadStall(t *testing.T) {
	const stall = 50 * time.Millisecond
	hello := rawFrame(mustMarshal(t, helloEnvelope()))
	for _, tc := range []struct {
		name    string
		write   []byte
		kind    error
		excerpt string
	}{
		{"text line before Hello", append([]byte("ok\n"), hello...), frame.ErrTextOnStdout, `"ok"`},
		{"body cut short", hello[:5], frame.ErrStalled, strconv.Quote(string(hello[:5]))},
		{"length prefix cut short", []byte{0x80}, frame.ErrStalled, `"\x80"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer pr.Close()
			defer pw.Close()
			r := frame.NewReader(pr, frame.WithStallTimeout(stall, pr))
			if _, err := pw.Write(tc.write); err != nil {
				t.Fatal(err)
			}
			var fe *frame.Error
			select {
			case err := <-readAsync(r):
				if !errors.As(err, &fe) || !errors.Is(err, tc.kind) || !fe.Fatal() {
					t.Fatalf("err = %v, want fatal %v", err, tc.kind)
				}
			case <-time.After(10 * time.Second):
				pw.Close()
				t.Fatal("Read did not give up on the stalled frame")
			}
			if fe.Excerpt != tc.excerpt {
				t.Errorf("excerpt = %s, want %s", fe.Excerpt, tc.excerpt)
			}
			if tc.kind == frame.ErrStalled && fe.Arrived != len(tc.write) {
				t.Errorf("Arrived = %d, want %d", fe.Arrived, len(tc.write))
			}
		})
	}

	t.Run("idle between frames is not a stall", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		defer pw.Close()
		r := frame.NewReader(pr, frame.WithStallTimeout(stall, pr))
		got := readAsync(r)
		select {
		case err := <-got:
			t.Fatalf("Read returned %v with nothing written", err)
		case <-time.After(4 * stall): // longer than the bound: nothing may happen
		}
		if _, err := pw.Write(hello); err != nil {
			t.Fatal(err)
		}
		if err := <-got; err != nil {
			t.Fatalf("Read after an idle wait: %v", err)
		}
	})
}

// TestReadEnvelopeOfUnknownFieldsOnly: an envelope whose only fields are
// unknown ones (a body a newer protocol version added) is no empty frame:
// the error names the unknown field numbers, in the style of the
// unknown-field error inside a known body, and shows the body in hex as
// for any bad body (a raw runner's trial had no hex to compare with).
func TestReadEnvelopeOfUnknownFieldsOnly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bytes []byte
		want  string
	}{
		{"field 15 only", []byte{2, 0x78, 0x01},
			"frame 1 at byte 0: envelope has no body (declared length 2): in exoactors.v1.RunnerEnvelope, which carries only unknown field 15 (a body from a newer protocol version?); body 78 01"},
		{"fields 15 and 16", []byte{5, 0x78, 0x01, 0x82, 0x01, 0x00},
			"frame 1 at byte 0: envelope has no body (declared length 5): in exoactors.v1.RunnerEnvelope, which carries only unknown fields 15, 16 (a body from a newer protocol version?); body 78 01 82 01 00"},
		{"nothing at all", []byte{0},
			"frame 1 at byte 0: envelope has no body: in exoactors.v1.RunnerEnvelope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := frame.NewReader(bytes.NewReader(tc.bytes)).Read(new(exov1.RunnerEnvelope))
			if !errors.Is(err, frame.ErrNoBody) || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

// TestReadBadBodyShowsHex: a body that does not decode (or carries unknown
// fields) is shown in hex, its first frame.BodyHexMax bytes, for whoever
// encodes frames by hand (a runner in a language without an SDK).
func TestReadBadBodyShowsHex(t *testing.T) {
	long := append([]byte{0x0a, 0x7f}, bytes.Repeat([]byte{0x01}, 40)...) // field 1, length 127 past the end
	for _, tc := range []struct {
		name  string
		bytes []byte
		kind  error
		want  string
	}{
		{"three bytes", []byte{3, 0x0a, 0x05, 0x01}, frame.ErrUndecodable,
			"frame 1 at byte 0: undecodable frame body (declared length 3): proto: cannot parse invalid wire-format data; body 0a 05 01"},
		{"longer than the bound", append([]byte{byte(len(long))}, long...), frame.ErrUndecodable,
			"frame 1 at byte 0: undecodable frame body (declared length 42): proto: cannot parse invalid wire-format data; body 0a 7f" +
				strings.Repeat(" 01", 30) + " … (first 32 of 42 bytes)"},
		{"unknown field", []byte{7, 0x12, 0x02, 0x08, 0x01, 0x98, 0x06, 0x01}, frame.ErrUnknownFields,
			"frame 1 at byte 0: message has unknown fields (declared length 7): in exoactors.v1.RunnerEnvelope: field 99, wire type 0 (VARINT), a number RunnerEnvelope does not have; body 12 02 08 01 98 06 01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := frame.NewReader(bytes.NewReader(tc.bytes)).Read(new(exov1.RunnerEnvelope))
			// protobuf-go puts a no-break space after "proto:" at random,
			// so that nobody matches its texts exactly; the frame error
			// shows a plain one (a raw runner's author grepped for it).
			if !errors.Is(err, tc.kind) || err.Error() != tc.want {
				t.Fatalf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

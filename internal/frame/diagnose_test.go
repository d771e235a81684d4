package frame_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// varintField appends one varint field.
func varintField(b []byte, num protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// chunkFrame is a RunnerEnvelope frame of ChunkGenerated{task_id "t1",
// index 14, token: the TokenChunk bytes given}.
func chunkFrame(token []byte) []byte {
	chunk := field(nil, 1, []byte("t1"))
	chunk = varintField(chunk, 2, 14)
	chunk = field(chunk, 3, token)
	return rawFrame(field(nil, 5, chunk))
}

// TestReadMisencodedNamesTheField: a body that is protobuf with one field
// wrong says which field and what is wrong with it, and is Misencoded, so
// that the runner's author is told of its encoder, not of stray prints. A
// raw Node.js runner's trial: "undecodable frame body (declared length
// 23): string field contains invalid UTF-8; body 2a 15 …" and "message has
// unknown fields (declared length 28): in exoactors.v1.TokenChunk; body
// …", each ending with the advice to look for prints on stdout. Bytes that
// are no protobuf keep that advice (not Misencoded).
func TestReadMisencodedNamesTheField(t *testing.T) {
	task := field(nil, 1, []byte("t1"))
	task = field(task, 2, []byte("noop"))
	task = field(task, 5, field(field(nil, 1, []byte("max_tokens")), 2, []byte{0xc3}))
	for _, tc := range []struct {
		name       string
		frame      []byte
		msg        proto.Message
		kind       error
		want       string // the error's text, from its kind on
		misencoded bool
		hint       string // in EncoderHint
	}{
		{"half a character in a token", chunkFrame(field(nil, 1, []byte{'h', 0xc3})), new(exov1.RunnerEnvelope), frame.ErrUndecodable,
			"undecodable frame body (declared length 14): string field contains invalid UTF-8: exoactors.v1.TokenChunk.text (field 1); body 2a 0c 0a 02 74 31 10 0e 1a 04 0a 02 68 c3",
			true, "not UTF-8"},
		{"half a character in a param", rawFrame(field(nil, 3, task)), new(exov1.SupervisorEnvelope), frame.ErrUndecodable,
			"string field contains invalid UTF-8: exoactors.v1.Task.ParamsEntry.value (field 2)", true, "not UTF-8"},
		{"a number TokenChunk does not have", chunkFrame(varintField(field(nil, 1, []byte("hi")), 4, 1)), new(exov1.RunnerEnvelope), frame.ErrUnknownFields,
			"message has unknown fields (declared length 16): in exoactors.v1.TokenChunk: field 4, wire type 0 (VARINT), a number TokenChunk does not have; body 2a 0e 0a 02 74 31 10 0e 1a 06 0a 02 68 69 20 01",
			true, "lists every field's number"},
		{"token_id as a string", chunkFrame(field(field(nil, 1, []byte("hi")), 2, []byte("7"))), new(exov1.RunnerEnvelope), frame.ErrUnknownFields,
			"in exoactors.v1.TokenChunk: field 2 (token_id, uint32) with wire type 2 (LEN), where its type has 0 (VARINT)", true, "wire type and tag byte"},
		{"a chunk whose bytes are no ChunkGenerated", rawFrame(field(nil, 5, []byte{0xff, 0xff, 0xff})), new(exov1.RunnerEnvelope), frame.ErrUndecodable,
			"cannot parse invalid wire-format data: exoactors.v1.RunnerEnvelope.chunk_generated (field 5) holds 3 bytes that do not parse as exoactors.v1.ChunkGenerated; body 2a 03 ff ff ff",
			true, "a length that does not match"},
		// Not protobuf at its top level: garbage, as before.
		{"a length past the end", []byte{3, 0x0a, 0x05, 0x01}, new(exov1.RunnerEnvelope), frame.ErrUndecodable,
			"undecodable frame body (declared length 3): proto: cannot parse invalid wire-format data; body 0a 05 01", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := frame.NewReader(bytes.NewReader(tc.frame)).Read(tc.msg)
			var fe *frame.Error
			if !errors.Is(err, tc.kind) || !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *frame.Error of %v", err, tc.kind)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to hold %s", err, tc.want)
			}
			if fe.Misencoded() != tc.misencoded || !strings.Contains(fe.EncoderHint(), tc.hint) || tc.hint == "" && fe.EncoderHint() != "" {
				t.Errorf("Misencoded %v, EncoderHint %q; want %v and a hint holding %q", fe.Misencoded(), fe.EncoderHint(), tc.misencoded, tc.hint)
			}
		})
	}
}

// TestReadMisencodedLargeFrame: a frame larger than the read buffer is
// read by protodelim into a buffer of its own, so its bytes are gone when
// it fails: invalid UTF-8 is still Misencoded (protobuf read that far),
// without the field.
func TestReadMisencodedLargeFrame(t *testing.T) {
	text := append(bytes.Repeat([]byte("a"), frame.ReadBufferSize), 0xc3)
	err := frame.NewReader(bytes.NewReader(chunkFrame(field(nil, 1, text)))).Read(new(exov1.RunnerEnvelope))
	var fe *frame.Error
	if !errors.As(err, &fe) || !errors.Is(err, frame.ErrUndecodable) || !fe.Misencoded() || fe.Field != "" ||
		!strings.Contains(fe.EncoderHint(), "not UTF-8") {
		t.Fatalf("err = %v; want an undecodable frame, Misencoded, without a field", err)
	}
}

// TestReadMisencodedThatLooksLikeALine: a misencoded chunk of 36 to 126
// bytes starts with bytes that read as a short line: its length byte and
// the chunk's tag 0x2a are printable, and so is the chunk's length, before
// the task ID's tag 0x0a, a newline. It is still protobuf with one field
// wrong, named as such, and the frame after it is read. Before, it was
// "stdout is not frames: \"$*\\\"\"" with the stray-print advice (a new
// user's Java runner, with a UUID for a task ID).
func TestReadMisencodedThatLooksLikeALine(t *testing.T) {
	id := []byte(strings.Repeat("t", 32))
	chunk := func(token []byte) []byte {
		c := field(nil, 1, id)
		c = varintField(c, 2, 0)
		return rawFrame(field(nil, 5, field(c, 3, token)))
	}
	for _, tc := range []struct {
		name  string
		frame []byte
		kind  error
		want  string
	}{
		{"a number TokenChunk does not have", chunk(varintField(field(nil, 1, []byte("hi")), 4, 1)), frame.ErrUnknownFields,
			"in exoactors.v1.TokenChunk: field 4, wire type 0 (VARINT), a number TokenChunk does not have"},
		{"half a character in a token", chunk(field(nil, 1, []byte{'h', 0xc3})), frame.ErrUndecodable,
			"string field contains invalid UTF-8: exoactors.v1.TokenChunk.text (field 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if printable := func(c byte) bool { return c >= 0x20 && c < 0x7f }; !printable(tc.frame[0]) || !printable(tc.frame[1]) || !printable(tc.frame[2]) || tc.frame[3] != '\n' {
				t.Fatalf("the frame should start like a short line: % x", tc.frame[:4])
			}
			next := rawFrame(field(nil, 7, varintField(nil, 1, 1))) // a Heartbeat
			r := frame.NewReader(bytes.NewReader(append(append([]byte(nil), tc.frame...), next...)))
			err := r.Read(new(exov1.RunnerEnvelope))
			var fe *frame.Error
			if !errors.Is(err, tc.kind) || !errors.As(err, &fe) || !fe.Misencoded() || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want a Misencoded %v naming %s", err, tc.kind, tc.want)
			}
			var hb exov1.RunnerEnvelope
			if err := r.Read(&hb); err != nil || hb.GetHeartbeat().GetSeq() != 1 {
				t.Errorf("the frame after it: %v, %v; want the Heartbeat", &hb, err)
			}
		})
	}
}

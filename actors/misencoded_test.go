package actors_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// lenField appends a length-delimited field.
func lenField(b []byte, num protowire.Number, v []byte) []byte {
	return protowire.AppendBytes(protowire.AppendTag(b, num, protowire.BytesType), v)
}

// helperMisencoded is a raw runner whose own encoder slips, by mode:
// "misencoded-token-utf8" sends, once Ready, a ChunkGenerated whose
// token's text ends in half a character; "misencoded-unknown-field" one
// whose TokenChunk carries a field 4; "misencoded-hello" says Hello with a
// runner_id that is not UTF-8. Go's protobuf refuses to encode any of
// them, so the frames are written byte by byte, as a hand-written encoder
// would.
func helperMisencoded(mode string) int {
	rr := newRawRunner()
	write := func(body []byte) {
		rr.mu.Lock()
		defer rr.mu.Unlock()
		if _, err := os.Stdout.Write(protowire.AppendBytes(nil, body)); err != nil {
			os.Exit(1)
		}
	}
	if mode == "misencoded-hello" {
		hello := protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 1)
		hello = protowire.AppendVarint(protowire.AppendTag(hello, 2, protowire.VarintType), 1)
		hello = lenField(hello, 3, []byte{'r', 0xc3})
		write(lenField(nil, 1, hello))
		return rr.serve(0, func(*exov1.SupervisorEnvelope) (int, bool) { return 0, false })
	}
	if !rr.handshake() {
		return 1
	}
	rr.toReady()
	token := lenField(nil, 1, []byte{'h', 0xc3})
	if mode == "misencoded-unknown-field" {
		token = protowire.AppendVarint(protowire.AppendTag(lenField(nil, 1, []byte("hi")), 4, protowire.VarintType), 1)
	}
	chunk := lenField(nil, 1, []byte("t1"))
	chunk = lenField(chunk, 3, token)
	write(lenField(nil, 5, chunk))
	return rr.serve(0, func(*exov1.SupervisorEnvelope) (int, bool) { return 0, false })
}

// TestMisencodedFrameBlamesTheEncoder: a frame that is protobuf with one
// field wrong fails its runner with the field named and advice about the
// runner's encoder, where a stray print's advice was (a raw Node.js
// runner's trial: "string field contains invalid UTF-8; body 2a 15 …;
// stdout carries only frames: log to stderr, and check that nothing else
// (a print, a library, a child process) writes to stdout; …", when the
// cause was its own encoder).
func TestMisencodedFrameBlamesTheEncoder(t *testing.T) {
	for _, c := range []struct {
		mode  string
		kind  errhandler.Kind
		field string
		hint  string
	}{
		{"misencoded-token-utf8", errhandler.KindGarbage, "string field contains invalid UTF-8: exoactors.v1.TokenChunk.text (field 1)", "not UTF-8"},
		{"misencoded-unknown-field", errhandler.KindGarbage, "in exoactors.v1.TokenChunk: field 4, wire type 0 (VARINT), a number TokenChunk does not have", "lists every field's number"},
		{"misencoded-hello", errhandler.KindNotARunner, "string field contains invalid UTF-8: exoactors.v1.Hello.runner_id (field 3)", "not UTF-8"},
	} {
		t.Run(c.mode, func(t *testing.T) {
			t.Parallel()
			// The handshake timeout is not what this test is about: a
			// race-built helper started under load said no Hello within
			// fastTimeouts' 2 s (two cases of three, a -count=3 run with
			// two CPU hogs).
			n := startNode(t, func(cfg *actors.NodeConfig) { cfg.Timeouts.Handshake = 15 * time.Second })
			id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "misencoded", Command: helperBinary(t), Env: []string{"EXO_ACTORS_HELPER=" + c.mode}})
			if err != nil {
				t.Fatal(err)
			}
			f := failures(n.rec.waitFor(t, 20*time.Second, "failure", failed(id)), id)[0]
			s := f.Error()
			if f.Kind != c.kind || !strings.Contains(s, c.field) || !strings.Contains(s, "the runner's encoder") || !strings.Contains(s, c.hint) ||
				strings.Contains(s, "stdout carries only frames") || strings.Contains(s, frame.TextHint) {
				t.Errorf("failure %s: %s\nwant %s naming %q, with the encoder's advice (%q), not a stray print's", f.Kind, s, c.kind, c.field, c.hint)
			}
			t.Logf("%s: %s", f.Kind, s)
		})
	}
}

package proc

import (
	"math"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// decodeTokenChunk is the stdout reader's frame.FastDecoder: it decodes a
// token chunk frame, RunnerEnvelope{chunk_generated: ChunkGenerated{task_id,
// index, token: TokenChunk{text, token_id, finish_reason}}}, the frame a
// streaming runner sends most, without protobuf reflection.
//
// proto.Unmarshal spends much of such a frame's time in reflection (setting
// each oneof wrapper through reflect.Value.Set) and makes seven allocations:
// envelope, two oneof wrappers, ChunkGenerated, TokenChunk and two strings.
// Here the four inner messages share one allocation (tokenFrame), the text
// and finish reason another (none when both are empty), and the task ID
// comes from the reader's cache when a recent chunk had it (chunkDecoder);
// the envelope is the caller's. A frame takes this path
// only in its plain shape: the envelope holds chunk_generated alone, every
// field has its declared wire type and appears at most once, token is set,
// token_id fits in 32 bits and every string is valid UTF-8. Then no field is
// unknown and the body is set, so the Reader's checks hold, and the result
// is what proto.Unmarshal makes of it (TestFastDecodeAgrees; the fuzz test
// compares the two on any input). Anything else returns false and goes
// through proto.Unmarshal and the checks as before.
//
// decodeTokenChunk decodes with no task ID cache (tests and benchmarks of
// the decode alone); the stdout reader uses a chunkDecoder of its own.
func decodeTokenChunk(body []byte, m proto.Message) bool {
	var d chunkDecoder
	return d.decode(body, m)
}

// chunkDecoder is one stdout reader's decodeTokenChunk, with its cache of
// recent task IDs: every chunk of a task carries the same ID, so the string
// is made once, by the task's first chunk, and the chunks after it share it
// instead of copying 26 bytes each. The cache holds idCacheSize strings and
// replaces the oldest; one decoder belongs to one goroutine.
type chunkDecoder struct {
	ids  [idCacheSize]string
	next int // the slot the next new ID takes
}

// idCacheSize is how many task IDs a chunkDecoder remembers: more than the
// tasks a runner streams at once in practice (a runner interleaving more
// only copies their IDs, as before the cache).
const idCacheSize = 4

// taskID returns b as a string, from the cache when it holds it.
func (d *chunkDecoder) taskID(b []byte) string {
	for _, s := range d.ids {
		if s == string(b) { // compared without a copy
			return s
		}
	}
	s := string(b)
	d.ids[d.next] = s
	d.next = (d.next + 1) % idCacheSize
	return s
}

// decode is the frame.FastDecoder (see decodeTokenChunk).
func (d *chunkDecoder) decode(body []byte, m proto.Message) bool {
	env, ok := m.(*exov1.RunnerEnvelope)
	if !ok {
		return false
	}
	num, typ, n := protowire.ConsumeTag(body)
	if n < 0 || num != 5 || typ != protowire.BytesType {
		return false
	}
	cg, k := protowire.ConsumeBytes(body[n:])
	if k < 0 || n+k != len(body) {
		return false
	}
	var (
		taskID, tok  []byte
		index        uint64
		seen         uint8
		text, finish []byte
		tokenID      uint64
	)
	for len(cg) > 0 {
		num, typ, n := protowire.ConsumeTag(cg)
		if n < 0 || num < 1 || num > 3 || seen&(1<<num) != 0 {
			return false
		}
		seen |= 1 << num
		cg = cg[n:]
		switch {
		case num == 2 && typ == protowire.VarintType:
			index, n = protowire.ConsumeVarint(cg)
		case num != 2 && typ == protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(cg)
			if num == 1 {
				taskID = v
			} else {
				tok = v
			}
		default:
			return false
		}
		if n < 0 {
			return false
		}
		cg = cg[n:]
	}
	if seen&(1<<3) == 0 {
		return false // no token: an error chunk, or no chunk at all
	}
	seen = 0
	for len(tok) > 0 {
		num, typ, n := protowire.ConsumeTag(tok)
		if n < 0 || num < 1 || num > 3 || seen&(1<<num) != 0 {
			return false
		}
		seen |= 1 << num
		tok = tok[n:]
		switch {
		case num == 2 && typ == protowire.VarintType:
			tokenID, n = protowire.ConsumeVarint(tok)
		case num != 2 && typ == protowire.BytesType:
			var v []byte
			v, n = protowire.ConsumeBytes(tok)
			if num == 1 {
				text = v
			} else {
				finish = v
			}
		default:
			return false
		}
		if n < 0 {
			return false
		}
		tok = tok[n:]
	}
	if tokenID > math.MaxUint32 || !utf8.Valid(taskID) || !utf8.Valid(text) || !utf8.Valid(finish) {
		return false
	}
	// The task ID from the cache; one copy of the other two strings (none
	// when both are empty).
	var all string
	switch {
	case len(finish) == 0:
		all = string(text)
	case len(text) == 0:
		all = string(finish)
	default:
		var sb strings.Builder
		sb.Grow(len(text) + len(finish))
		sb.Write(text)
		sb.Write(finish)
		all = sb.String()
	}
	t := new(tokenFrame)
	t.tok.Text = all[:len(text)]
	t.tok.TokenId = uint32(tokenID)
	t.tok.FinishReason = all[len(text):]
	t.token.Token = &t.tok
	t.cg.TaskId = d.taskID(taskID)
	t.cg.Index = index
	t.cg.Chunk = &t.token
	t.body.ChunkGenerated = &t.cg
	env.Reset()
	env.Body = &t.body
	return true
}

// tokenFrame holds what a decoded token chunk frame points to, below its
// envelope, in one allocation. The task's handle keeps the ChunkGenerated
// (and so the block) for as long as it keeps the chunk.
type tokenFrame struct {
	body  exov1.RunnerEnvelope_ChunkGenerated
	cg    exov1.ChunkGenerated
	token exov1.ChunkGenerated_Token
	tok   exov1.TokenChunk
}

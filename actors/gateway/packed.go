package gateway

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Packed deliveries. A relay sends a subscription's events as the bytes of
// a GwEventList (GwDelivery.packed) that it writes itself: a token chunk
// event, the bulk of any stream, is appended field by field with no
// message built for it and no reflection, and a client reads it back into
// one slab per delivery (one allocation for the payloads of every chunk of
// the delivery, one string for their IDs and texts). Every other event goes
// through EventToWire and proto.Marshal, and anything the fast reader does
// not recognise through proto.Unmarshal and EventFromWire: the bytes are a
// GwEventList either way (TestPackedIsAGwEventList).

// Field numbers of gateway.proto and runner.proto that the fast paths
// write and read.
const (
	fListEvents = 1 // GwEventList.events

	fEvSeq      = 1 // GwEvent
	fEvRunner   = 2
	fEvTask     = 3
	fEvKind     = 4
	fEvChunk    = 7
	fEvAttempt  = 10
	fEvAt       = 22
	fEvSameIDs  = 23
	fChTask     = 1 // ChunkGenerated
	fChIndex    = 2
	fChToken    = 3
	fTokText    = 1 // TokenChunk
	fTokID      = 2
	fTokFinish  = 3
	maxEvBuffer = 4 << 20 // a packer that grew past this starts afresh after a flush
)

// Packer collects a subscription's events as the bytes of a GwEventList.
// Not safe for concurrent use: one relay owns it.
type Packer struct {
	buf  []byte
	n    int
	ids  encoder
	last int // the size of the last flush, to size the next buffer
}

// Len returns how many events the packer holds.
func (p *Packer) Len() int { return p.n }

// Bytes returns the size of the events packed so far.
func (p *Packer) Bytes() int { return len(p.buf) }

// Add appends evs.
func (p *Packer) Add(evs []streams.Event) {
	if p.buf == nil {
		p.buf = make([]byte, 0, max(p.last, 512))
	}
	for i := range evs {
		p.add(&evs[i])
	}
}

// AddCut appends the events of evs; if the packer held events already
// and they would then pass cut bytes, it first takes those (returned, as
// Take does) and starts afresh with evs. So a packer past cut bytes holds
// the events of one AddCut alone.
func (p *Packer) AddCut(evs []streams.Event, cut int) []byte {
	if p.n == 0 {
		p.Add(evs)
		return nil
	}
	before, n, ids := len(p.buf), p.n, p.ids
	p.Add(evs)
	if len(p.buf) <= cut {
		return nil
	}
	// The events added were encoded against the IDs before them: undo,
	// take what was there, and add them again to a fresh buffer.
	p.buf, p.n, p.ids = p.buf[:before], n, ids
	piece := p.Take()
	p.Add(evs)
	return piece
}

// Take returns the bytes collected since the last Take (nil if none) and
// starts afresh: the bytes are the caller's (they are sent), and the next
// event carries its IDs again.
func (p *Packer) Take() []byte {
	b := p.buf
	p.buf, p.n, p.ids = nil, 0, encoder{}
	if len(b) > 0 && len(b) < maxEvBuffer {
		p.last = len(b) + len(b)/4
	}
	return b
}

func (p *Packer) add(ev *streams.Event) {
	p.n++
	if tc, ok := ev.Payload.(*actors.TaskChunk); ok && ev.Gap == nil && fastChunk(tc.Chunk) && tc.Attempt >= math.MinInt32 && tc.Attempt <= math.MaxInt32 {
		p.buf = appendChunkEvent(p.buf, ev, tc, p.ids.same(ev))
		return
	}
	w := p.ids.event(ev)
	p.buf = protowire.AppendTag(p.buf, fListEvents, protowire.BytesType)
	p.buf = protowire.AppendVarint(p.buf, uint64(proto.Size(w)))
	p.buf, _ = proto.MarshalOptions{}.MarshalAppend(p.buf, w) // a message of our own schema: cannot fail
}

// fastChunk reports whether c is a token chunk the fast path writes. It
// writes the known fields only: a chunk's unknown fields (a runner may send
// some only under frame.AllowUnknownFields) are not sent, which no host sees
// (runtime.Chunk has the known fields alone). Looking for them here cost a
// tenth of the relay's time.
func fastChunk(c *exov1.ChunkGenerated) bool { return c.GetToken() != nil }

func sizeString(s string) int {
	if s == "" {
		return 0
	}
	return 1 + protowire.SizeBytes(len(s))
}

func sizeUint(v uint64) int {
	if v == 0 {
		return 0
	}
	return 1 + protowire.SizeVarint(v)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendUint(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// appendChunkEvent appends one GwEvent of a token chunk, as EventToWire
// and proto.Marshal would write it, field by field.
func appendChunkEvent(b []byte, ev *streams.Event, tc *actors.TaskChunk, same bool) []byte {
	c, tok := tc.Chunk, tc.Chunk.GetToken()
	chTask := c.GetTaskId()
	if chTask == ev.TaskID {
		chTask = "" // the event's: not sent twice
	}
	runner, task := ev.RunnerID, ev.TaskID
	if same {
		runner, task = "", ""
	}
	kind := ev.Kind
	if kind == actors.KindTaskChunk {
		kind = ""
	}
	at := unixNano(ev.At)
	attempt := uint64(int64(tc.Attempt)) // int32 on the wire: negative values sign-extend

	tokSize, chSize := chunkSizes(c, chTask)
	evSize := sizeUint(ev.Seq) + sizeString(runner) + sizeString(task) + sizeString(kind) + 1 + protowire.SizeBytes(chSize) + sizeUint(attempt)
	if at != 0 {
		evSize += 2 + 8
	}
	if same {
		evSize += 2 + 1
	}

	b = protowire.AppendTag(b, fListEvents, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(evSize))
	b = appendUint(b, fEvSeq, ev.Seq)
	b = appendString(b, fEvRunner, runner)
	b = appendString(b, fEvTask, task)
	b = appendString(b, fEvKind, kind)
	b = protowire.AppendTag(b, fEvChunk, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(chSize))
	b = appendChunkBody(b, c, tok, chTask, tokSize)
	b = appendUint(b, fEvAttempt, attempt)
	if at != 0 {
		b = protowire.AppendTag(b, fEvAt, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, uint64(at))
	}
	if same {
		b = protowire.AppendTag(b, fEvSameIDs, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	return b
}

// chunkSizes returns the encoded sizes of a token chunk's TokenChunk and of
// the chunk itself, written with task ID chTask.
func chunkSizes(c *exov1.ChunkGenerated, chTask string) (tokSize, chSize int) {
	tok := c.GetToken()
	tokSize = sizeString(tok.GetText()) + sizeUint(uint64(tok.GetTokenId())) + sizeString(tok.GetFinishReason())
	return tokSize, sizeString(chTask) + sizeUint(c.GetIndex()) + 1 + protowire.SizeBytes(tokSize)
}

// appendChunkBody appends the fields of a token chunk (not its tag and
// length), with task ID chTask.
func appendChunkBody(b []byte, c *exov1.ChunkGenerated, tok *exov1.TokenChunk, chTask string, tokSize int) []byte {
	b = appendString(b, fChTask, chTask)
	b = appendUint(b, fChIndex, c.GetIndex())
	b = protowire.AppendTag(b, fChToken, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(tokSize))
	b = appendString(b, fTokText, tok.GetText())
	b = appendUint(b, fTokID, uint64(tok.GetTokenId()))
	return appendString(b, fTokFinish, tok.GetFinishReason())
}

// PackChunks appends chunks to b as the bytes of a GwChunkBatch
// (GwTaskEvent.packed_chunks): token chunks field by field, any other
// through proto.Marshal.
func PackChunks(b []byte, chunks []*exov1.ChunkGenerated) []byte {
	for _, c := range chunks {
		b = protowire.AppendTag(b, fListEvents, protowire.BytesType) // GwChunkBatch.chunks is field 1 too
		if !fastChunk(c) {
			b = protowire.AppendVarint(b, uint64(proto.Size(c)))
			b, _ = proto.MarshalOptions{}.MarshalAppend(b, c) // a message of our own schema: cannot fail
			continue
		}
		tokSize, chSize := chunkSizes(c, c.GetTaskId())
		b = protowire.AppendVarint(b, uint64(chSize))
		b = appendChunkBody(b, c, c.GetToken(), c.GetTaskId(), tokSize)
	}
	return b
}

// UnpackChunks appends the chunks of packed (a GwChunkBatch) to dst: token
// chunks into one slab, with their strings in one copy of packed.
func UnpackChunks(dst []*exov1.ChunkGenerated, packed []byte) ([]*exov1.ChunkGenerated, error) {
	n, err := countRecords(packed)
	if err != nil {
		return dst, fmt.Errorf("packed chunks: %w", err)
	}
	text := string(packed)
	var boxes []chunkMsg // slabs of at most boxBlock: a record may be 2 bytes, a box is ~100 times that
	for i, pos := 0, 0; pos < len(packed); i++ {
		_, _, k := protowire.ConsumeTag(packed[pos:])
		rec, m := protowire.ConsumeBytes(packed[pos+k:])
		start := pos + k + m - len(rec)
		pos += k + m
		if len(boxes) == 0 {
			boxes = make([]chunkMsg, min(n-i, boxBlock))
		}
		if decodeChunk(rec, text, start, &boxes[0]) {
			boxes[0].link()
			dst = append(dst, &boxes[0].cg)
			boxes = boxes[1:]
			continue
		}
		boxes[0] = chunkMsg{} // partly filled: reused by the next record
		c := &exov1.ChunkGenerated{}
		if err := proto.Unmarshal(rec, c); err != nil {
			return dst, fmt.Errorf("packed chunks: chunk %d: %w", i+1, err)
		}
		dst = append(dst, c)
	}
	return dst, nil
}

// boxBlock bounds one slab of decoded chunks, eventBlock the events dst is
// grown by ahead: what a delivery's record count alone may allocate.
const (
	boxBlock   = 256
	eventBlock = 4096
)

// CountPacked returns how many events (GwDelivery.packed) or chunks
// (GwTaskEvent.packed_chunks) packed holds, checking only its framing. It
// allocates nothing, so a client can check a delivery against what it
// allowed before decoding any of it.
func CountPacked(packed []byte) (int, error) {
	n, err := countRecords(packed)
	if err != nil {
		return n, fmt.Errorf("packed list: %w", err)
	}
	return n, nil
}

// countRecords counts the length-delimited field-1 records of a packed
// list, checking their framing.
func countRecords(b []byte) (int, error) {
	n := 0
	for ; len(b) > 0; n++ {
		num, typ, k := protowire.ConsumeTag(b)
		if k < 0 || num != fListEvents || typ != protowire.BytesType {
			return n, fmt.Errorf("record %d is not a list element", n+1)
		}
		_, m := protowire.ConsumeBytes(b[k:])
		if m < 0 {
			return n, fmt.Errorf("record %d is truncated", n+1)
		}
		b = b[k+m:]
	}
	return n, nil
}

// chunkMsg holds a decoded token chunk and the messages it points to.
type chunkMsg struct {
	cg  exov1.ChunkGenerated
	tok exov1.ChunkGenerated_Token
	tk  exov1.TokenChunk
}

// link points the chunk at its token.
func (m *chunkMsg) link() {
	m.tok.Token = &m.tk
	m.cg.Chunk = &m.tok
}

// chunkBox holds everything one decoded chunk event points to, so a
// delivery's chunks take one allocation (a slice of boxes) between them.
type chunkBox struct {
	tc actors.TaskChunk
	chunkMsg
}

// UnpackEvents appends the events of packed (GwDelivery.packed of topic)
// to dst. The strings of token chunk events share one copy of packed, so
// an event kept alive keeps its delivery's bytes (at most the credit
// window's worth) alive. The fast reader does not check UTF-8 (the node
// wrote strings it had decoded itself); anything it does not recognise
// goes through proto.Unmarshal, which does.
func UnpackEvents(dst []streams.Event, topic string, packed []byte) ([]streams.Event, error) {
	// Count the events first: the slab and dst are sized once.
	n, err := countRecords(packed)
	if err != nil {
		return dst, fmt.Errorf("packed events: %w", err)
	}
	// Sized once up to a bound: a record may be 2 bytes, an event and its
	// box ~100 times that, so a hostile delivery must not size them alone.
	dst = growEvents(dst, min(n, eventBlock))
	text := string(packed)
	var boxes []chunkBox // slabs of at most boxBlock
	var runner, task string
	for i, pos := 0, 0; pos < len(packed); i++ {
		_, _, k := protowire.ConsumeTag(packed[pos:])
		rec, m := protowire.ConsumeBytes(packed[pos+k:])
		start := pos + k + m - len(rec)
		pos += k + m
		if len(boxes) == 0 {
			boxes = make([]chunkBox, min(n-i, boxBlock))
		}
		ev, same, ok := decodeChunkEvent(rec, text, start, &boxes[0])
		if ok {
			boxes = boxes[1:]
		} else {
			boxes[0] = chunkBox{} // partly filled: reused by the next record
		}
		if !ok {
			var w exov1.GwEvent
			if err := proto.Unmarshal(rec, &w); err != nil {
				return dst, fmt.Errorf("packed events: event %d: %w", i+1, err)
			}
			ev, same = EventFromWire(topic, &w), w.GetSameIds()
		}
		switch {
		case same:
			ev.RunnerID, ev.TaskID = runner, task
		case ev.Gap == nil:
			runner, task = ev.RunnerID, ev.TaskID
		}
		ev.Stream = topic
		fillIDs(&ev)
		dst = append(dst, ev)
	}
	return dst, nil
}

// growEvents makes room for n more events in dst.
func growEvents(dst []streams.Event, n int) []streams.Event {
	if cap(dst)-len(dst) >= n {
		return dst
	}
	out := make([]streams.Event, len(dst), len(dst)+n)
	copy(out, dst)
	return out
}

// decodeChunkEvent reads rec, a GwEvent that text holds at base, if it is
// a token chunk event of the fields appendChunkEvent writes; ok false
// otherwise (the caller then uses proto.Unmarshal). The payload lives in
// box; its IDs are set by fillIDs.
func decodeChunkEvent(rec []byte, text string, base int, box *chunkBox) (ev streams.Event, same, ok bool) {
	str := func(p int, v []byte, m int) string { return text[base+p+m-len(v) : base+p+m] }
	chunk := false
	for p := 0; p < len(rec); {
		num, typ, k := protowire.ConsumeTag(rec[p:])
		if k < 0 {
			return ev, false, false
		}
		p += k
		var m int
		switch {
		case typ == protowire.VarintType && (num == fEvSeq || num == fEvAttempt || num == fEvSameIDs):
			var v uint64
			v, m = protowire.ConsumeVarint(rec[p:])
			switch num {
			case fEvSeq:
				ev.Seq = v
			case fEvAttempt:
				box.tc.Attempt = int(int32(v))
			default:
				same = v != 0
			}
		case typ == protowire.BytesType && (num == fEvRunner || num == fEvTask || num == fEvKind):
			var v []byte
			v, m = protowire.ConsumeBytes(rec[p:])
			if m >= 0 {
				switch s := str(p, v, m); num {
				case fEvRunner:
					ev.RunnerID = s
				case fEvTask:
					ev.TaskID = s
				default:
					ev.Kind = s
				}
			}
		case typ == protowire.Fixed64Type && num == fEvAt:
			var v uint64
			v, m = protowire.ConsumeFixed64(rec[p:])
			ev.At = fromUnixNano(int64(v))
		case typ == protowire.BytesType && num == fEvChunk && !chunk:
			var v []byte
			v, m = protowire.ConsumeBytes(rec[p:])
			if m < 0 || !decodeChunk(v, text, base+p+m-len(v), &box.chunkMsg) {
				return ev, false, false
			}
			chunk = true
		default:
			return ev, false, false
		}
		if m < 0 {
			return ev, false, false
		}
		p += m
	}
	if !chunk {
		return ev, false, false
	}
	if ev.Kind == "" {
		ev.Kind = actors.KindTaskChunk
	}
	box.link()
	box.tc.Chunk = &box.cg
	ev.Payload = &box.tc
	return ev, same, true
}

// decodeChunk reads a ChunkGenerated with a token into box.
func decodeChunk(rec []byte, text string, base int, box *chunkMsg) bool {
	str := func(p int, v []byte, m int) string { return text[base+p+m-len(v) : base+p+m] }
	token := false
	for p := 0; p < len(rec); {
		num, typ, k := protowire.ConsumeTag(rec[p:])
		if k < 0 {
			return false
		}
		p += k
		var m int
		switch {
		case num == fChTask && typ == protowire.BytesType:
			var v []byte
			if v, m = protowire.ConsumeBytes(rec[p:]); m >= 0 {
				box.cg.TaskId = str(p, v, m)
			}
		case num == fChIndex && typ == protowire.VarintType:
			box.cg.Index, m = protowire.ConsumeVarint(rec[p:])
		case num == fChToken && typ == protowire.BytesType && !token:
			var v []byte
			v, m = protowire.ConsumeBytes(rec[p:])
			if m < 0 || !decodeToken(v, text, base+p+m-len(v), &box.tk) {
				return false
			}
			token = true
		default:
			return false
		}
		if m < 0 {
			return false
		}
		p += m
	}
	return token
}

// decodeToken reads a TokenChunk into tk.
func decodeToken(rec []byte, text string, base int, tk *exov1.TokenChunk) bool {
	str := func(p int, v []byte, m int) string { return text[base+p+m-len(v) : base+p+m] }
	for p := 0; p < len(rec); {
		num, typ, k := protowire.ConsumeTag(rec[p:])
		if k < 0 {
			return false
		}
		p += k
		var m int
		switch {
		case num == fTokText && typ == protowire.BytesType:
			var v []byte
			if v, m = protowire.ConsumeBytes(rec[p:]); m >= 0 {
				tk.Text = str(p, v, m)
			}
		case num == fTokID && typ == protowire.VarintType:
			var v uint64
			v, m = protowire.ConsumeVarint(rec[p:])
			tk.TokenId = uint32(v)
		case num == fTokFinish && typ == protowire.BytesType:
			var v []byte
			if v, m = protowire.ConsumeBytes(rec[p:]); m >= 0 {
				tk.FinishReason = str(p, v, m)
			}
		default:
			return false
		}
		if m < 0 {
			return false
		}
		p += m
	}
	return true
}

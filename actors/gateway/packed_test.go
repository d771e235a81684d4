package gateway_test

import (
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/streams"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// chunkEvent is a token chunk event as a runner actor publishes it.
func chunkEvent(seq uint64, runner, task string, idx uint64, text string) streams.Event {
	return streams.Event{Stream: "tasks", Seq: seq, RunnerID: runner, TaskID: task, Kind: actors.KindTaskChunk, At: time.Unix(1e9, int64(seq)),
		Payload: &actors.TaskChunk{RunnerID: runner, TaskID: task, Attempt: 1, Chunk: &exov1.ChunkGenerated{TaskId: task, Index: idx,
			Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: text, TokenId: uint32(idx)}}}}}
}

// packedCases mixes what the fast path writes with what it leaves to
// proto.Marshal, in one delivery.
func packedCases() []streams.Event {
	evs := []streams.Event{
		chunkEvent(1, "r1", "t1", 0, "tok0 "),
		chunkEvent(2, "r1", "t1", 1, "tok1 "),
		chunkEvent(3, "r1", "t2", 0, ""), // another task: IDs again; empty text
		{Stream: "tasks", Seq: 4, RunnerID: "r1", TaskID: "t2", Kind: actors.KindTaskStatus, At: time.Unix(1e9, 4),
			Payload: &actors.TaskStatusChanged{RunnerID: "r1", TaskID: "t2", Status: exov1.TaskStatus_TASK_STATUS_COMPLETE, Reason: "done", At: time.Unix(1e9, 4)}},
		chunkEvent(5, "r1", "t2", 1, "last"),
		{Stream: "tasks", Kind: streams.KindGap, Gap: &streams.Gap{Dropped: 2, FromSeq: 6, ToSeq: 7}},
		chunkEvent(8, "r1", "t2", 2, "after the gap"),
	}
	// A chunk whose own task ID differs from the event's, a finish
	// reason, attempt 2, no time, seq 0, a huge index and token ID.
	odd := chunkEvent(0, "r2", "t3", math.MaxUint64, "odd")
	odd.At = time.Time{}
	tc := odd.Payload.(*actors.TaskChunk)
	tc.Attempt = 2
	tc.Chunk = &exov1.ChunkGenerated{TaskId: "other", Index: math.MaxUint64,
		Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "odd", TokenId: math.MaxUint32, FinishReason: "stop"}}}
	evs = append(evs, odd)
	// An error chunk: not the fast path.
	errc := chunkEvent(9, "r2", "t3", 1, "")
	errc.Payload.(*actors.TaskChunk).Chunk = &exov1.ChunkGenerated{TaskId: "t3", Index: 1,
		Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: "boom"}}}
	evs = append(evs, errc)
	// A negative attempt (never sent, but int32 on the wire either way).
	neg := chunkEvent(10, "r2", "t3", 2, "neg")
	neg.Payload.(*actors.TaskChunk).Attempt = -3
	return append(evs, neg)
}

// TestPackedIsAGwEventList: the relay's hand-written bytes are exactly a
// GwEventList that proto.Unmarshal reads as the messages EventToWire
// builds (with same_ids as EncodeEvents sets it), and UnpackEvents reads
// both the fast bytes and proto.Marshal's into the same events.
func TestPackedIsAGwEventList(t *testing.T) {
	evs := packedCases()
	var p gateway.Packer
	p.Add(evs[:4])
	p.Add(evs[4:]) // two deliveries of the stream into one flush
	packed := p.Take()
	if p.Len() != 0 || p.Take() != nil {
		t.Fatal("Take did not start afresh")
	}
	var got exov1.GwEventList
	if err := proto.Unmarshal(packed, &got); err != nil {
		t.Fatalf("packed bytes are not a GwEventList: %v", err)
	}
	want := &exov1.GwEventList{Events: gateway.EncodeEvents(nil, evs)}
	if !proto.Equal(&got, want) {
		t.Fatalf("packed bytes read as\n%v\nwant\n%v", &got, want)
	}
	slow, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := gateway.UnpackEvents(nil, "tasks", packed)
	if err != nil {
		t.Fatal(err)
	}
	viaProto, err := gateway.UnpackEvents(nil, "tasks", slow)
	if err != nil {
		t.Fatal(err)
	}
	generic := gateway.DecodeEvents(nil, "tasks", want.Events)
	for i, w := range evs {
		for name, got := range map[string][]streams.Event{"fast": fast, "proto bytes": viaProto, "messages": generic} {
			if len(got) != len(evs) {
				t.Fatalf("%s: %d events, want %d", name, len(got), len(evs))
			}
			if g := got[i]; !sameEvent(g, w) {
				t.Errorf("%s event %d:\n got %+v %v\nwant %+v %v", name, i, g, payloadValue(g.Payload), w, payloadValue(w.Payload))
			}
		}
	}
}

// sameEvent compares two stream events by content.
func sameEvent(a, b streams.Event) bool {
	if (a.Gap == nil) != (b.Gap == nil) || (a.Gap != nil && *a.Gap != *b.Gap) {
		return false
	}
	return a.Stream == b.Stream && a.Seq == b.Seq && a.RunnerID == b.RunnerID && a.TaskID == b.TaskID && a.Kind == b.Kind &&
		a.At.Equal(b.At) && reflect.DeepEqual(payloadValue(a.Payload), payloadValue(b.Payload))
}

// payloadValue is what a payload says, for comparison: the event with its
// chunk as text (proto messages are compared by content).
func payloadValue(p any) any {
	switch p := p.(type) {
	case *actors.TaskChunk:
		return fmt.Sprintf("%s %s %d %v", p.RunnerID, p.TaskID, p.Attempt, prototext.Format(p.Chunk))
	case *actors.TaskStatusChanged:
		c := *p
		c.At = c.At.UTC()
		return c
	}
	return p
}

// TestUnpackRefusesGarbage: bytes that are not a GwEventList give an
// error, never a panic.
func TestUnpackRefusesGarbage(t *testing.T) {
	for _, b := range [][]byte{{0xff}, {0x0a, 0x05, 0x01}, {0x12, 0x00}, {0x0a, 0x02, 0xff, 0xff}} {
		if _, err := gateway.UnpackEvents(nil, "tasks", b); err == nil {
			t.Errorf("%x: no error", b)
		}
	}
}

// FuzzUnpackEvents: whatever the bytes, UnpackEvents returns events or an
// error; and bytes proto reads as a GwEventList the fast reader reads the
// same way.
func FuzzUnpackEvents(f *testing.F) {
	var p gateway.Packer
	p.Add(packedCases())
	f.Add(p.Take())
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		evs, err := gateway.UnpackEvents(nil, "tasks", b)
		var l exov1.GwEventList
		if perr := proto.Unmarshal(b, &l); perr == nil && err == nil {
			want := gateway.DecodeEvents(nil, "tasks", l.GetEvents())
			if len(want) != len(evs) {
				t.Fatalf("fast reader: %d events, proto: %d", len(evs), len(want))
			}
			for i := range evs {
				if !sameEvent(evs[i], want[i]) {
					t.Fatalf("event %d: fast %+v %v, proto %+v %v", i, evs[i], payloadValue(evs[i].Payload), want[i], payloadValue(want[i].Payload))
				}
			}
		}
	})
}

// TestPackedChunksAreAGwChunkBatch: a task's chunks packed by the
// forwarder are a GwChunkBatch, and UnpackChunks reads them back equal.
func TestPackedChunksAreAGwChunkBatch(t *testing.T) {
	var chunks []*exov1.ChunkGenerated
	for _, ev := range packedCases() {
		if tc, ok := ev.Payload.(*actors.TaskChunk); ok {
			chunks = append(chunks, tc.Chunk)
		}
	}
	chunks = append(chunks, &exov1.ChunkGenerated{}) // no chunk set: not the fast path
	packed := gateway.PackChunks(nil, chunks)
	var batch exov1.GwChunkBatch
	if err := proto.Unmarshal(packed, &batch); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&batch, &exov1.GwChunkBatch{Chunks: chunks}) {
		t.Fatalf("packed chunks read as %v", &batch)
	}
	got, err := gateway.UnpackChunks(nil, packed)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&exov1.GwChunkBatch{Chunks: got}, &batch) {
		t.Fatalf("UnpackChunks: %v, want %v", got, chunks)
	}
	if _, err := gateway.UnpackChunks(nil, []byte{0x0a, 0x09}); err == nil {
		t.Error("truncated chunks: no error")
	}
}

// FuzzUnpackChunks: whatever the bytes, UnpackChunks returns chunks or an
// error, and reads what proto reads as a GwChunkBatch the same way.
func FuzzUnpackChunks(f *testing.F) {
	f.Add(gateway.PackChunks(nil, []*exov1.ChunkGenerated{{TaskId: "t", Index: 3,
		Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "x", TokenId: 3, FinishReason: "stop"}}}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := gateway.UnpackChunks(nil, b)
		var batch exov1.GwChunkBatch
		if perr := proto.Unmarshal(b, &batch); perr == nil && err == nil && !proto.Equal(&exov1.GwChunkBatch{Chunks: got}, &batch) {
			t.Fatalf("fast %v, proto %v", got, &batch)
		}
	})
}

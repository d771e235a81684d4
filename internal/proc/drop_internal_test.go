package proc

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func chunkBody(tb testing.TB, task string, i uint64) []byte {
	tb.Helper()
	b, err := proto.Marshal(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
		TaskId: task, Index: i, Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "t", TokenId: uint32(i)}}}}})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestChunkTaskID: the task ID of a chunk as the SDKs write it; nothing for
// other frames, a chunk with its task ID after another field or twice, or
// bytes that are not well-formed.
func TestChunkTaskID(t *testing.T) {
	if id, ok := chunkTaskID(chunkBody(t, "task-7", 3)); !ok || string(id) != "task-7" {
		t.Errorf("chunk of task-7: %q, %v", id, ok)
	}
	hb, _ := proto.Marshal(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: 1}}})
	end, _ := proto.Marshal(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{TaskId: "task-7"}}})
	envelope := func(chunk []byte) []byte {
		return protowire.AppendBytes(protowire.AppendTag(nil, chunkField, protowire.BytesType), chunk)
	}
	idField := func(b []byte, id string) []byte {
		return protowire.AppendString(protowire.AppendTag(b, taskIDField, protowire.BytesType), id)
	}
	indexFirst := idField(protowire.AppendVarint(protowire.AppendTag(nil, 2, protowire.VarintType), 3), "task-7")
	twice := idField(idField(nil, "task-7"), "task-8")
	broken := append(idField(nil, "task-7"), 0x12, 0x05) // a length past the end
	for name, body := range map[string][]byte{
		"heartbeat": hb, "task status": end, "index before task_id": envelope(indexFirst),
		"task_id twice": envelope(twice), "broken field": envelope(broken), "empty": nil,
		"chunk and more": append(chunkBody(t, "task-7", 1), hb...),
	} {
		if id, ok := chunkTaskID(body); ok {
			t.Errorf("%s: chunkTaskID = %q, want no match", name, id)
		}
	}
	d := &dropList{ids: []string{"a", "task-7"}}
	if !d.matches(chunkBody(t, "task-7", 0)) || d.matches(chunkBody(t, "task-77", 0)) || d.matches(chunkBody(t, "task", 0)) {
		t.Error("dropList.match must match whole task IDs only")
	}
}

// TestDropChunksOfBounds: the list is copied, capped at MaxDropTasks, and
// cleared by an empty one.
func TestDropChunksOfBounds(t *testing.T) {
	var p Process
	ids := make([]string, MaxDropTasks+5)
	for i := range ids {
		ids[i] = string(rune('a' + i))
	}
	p.DropChunksOf(ids)
	ids[0] = "changed"
	if d := p.drop.Load().ids; len(d) != MaxDropTasks || d[0] != "a" {
		t.Errorf("drop list %q: want a copy of the first %d", d, MaxDropTasks)
	}
	p.DropChunksOf(nil)
	if p.drop.Load() != nil {
		t.Error("DropChunksOf(nil) must end the dropping")
	}
}

// FuzzChunkTaskID: any bytes; chunkTaskID never panics, and when it names
// a task, a decode of the same bytes (when they decode) is a chunk of that
// task: the reader never skips a frame the actor would read as another's.
func FuzzChunkTaskID(f *testing.F) {
	f.Add(chunkBody(f, "task-7", 3))
	f.Add(chunkBody(f, "", 0))
	f.Add([]byte{0x2a, 0x04, 0x0a, 0x01, 'a', 0x10})
	f.Add([]byte{0x2a, 0x06, 0x0a, 0x01, 'a', 0x0a, 0x01, 'b'})
	f.Fuzz(func(t *testing.T, body []byte) {
		id, ok := chunkTaskID(body)
		if !ok {
			return
		}
		var env exov1.RunnerEnvelope
		if err := proto.Unmarshal(body, &env); err != nil {
			return // undecodable: only a dropped task's chunk is skipped so
		}
		if got := env.GetChunkGenerated().GetTaskId(); env.GetChunkGenerated() == nil || got != string(id) {
			t.Fatalf("chunkTaskID = %q, the decode says %v", id, &env)
		}
	})
}

// BenchmarkCutChunk compares what a chunk frame of a task that ended costs
// the stdout reader: skipped (Skip with the drop list's match) or decoded
// (Read, as before DropChunksOf; the actor then dropped it).
func BenchmarkCutChunk(b *testing.B) {
	const n = 4096
	var stream []byte
	for i := range uint64(n) {
		body := chunkBody(b, "bench-flood-3", i)
		stream = protowire.AppendBytes(stream, body)
	}
	d := &dropList{ids: []string{"bench-flood-3"}}
	d.match = d.matches
	run := func(b *testing.B, each func(r *frame.Reader) int) {
		b.SetBytes(int64(len(stream) / n))
		for i := 0; i < b.N; i += n {
			r := frame.NewReader(bytes.NewReader(stream))
			for got := 0; got < n; {
				got += each(r)
			}
		}
	}
	b.Run("skip", func(b *testing.B) {
		run(b, func(r *frame.Reader) int {
			if r.Await() != nil {
				b.Fatal("stream ended early")
			}
			if k := r.Skip(d.match); k > 0 {
				return k
			}
			// A frame across the end of the buffer: decoded, as the
			// reader does.
			if err := r.Read(new(exov1.RunnerEnvelope)); err != nil {
				b.Fatal(err)
			}
			return 1
		})
	})
	b.Run("decode", func(b *testing.B) {
		run(b, func(r *frame.Reader) int {
			if err := r.Read(new(exov1.RunnerEnvelope)); err != nil {
				b.Fatal(err)
			}
			return 1
		})
	})
}

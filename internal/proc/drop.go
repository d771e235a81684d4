package proc

import (
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// MaxDropTasks bounds the tasks whose chunks the stdout reader discards
// (DropChunksOf): the owner keeps the most recent ones. A task beyond it
// loses nothing: its chunks are decoded and discarded by the owner, as
// before.
const MaxDropTasks = 16

// DropChunksOf tells the stdout reader to discard, without decoding them,
// the ChunkGenerated frames of the tasks ids (at most MaxDropTasks; the
// rest are ignored), replacing the previous list; nil or empty ends the
// discarding. The owner names only tasks whose chunks it would discard
// anyway (tasks it has ended while the runner may still be writing for
// them, such as those a stop's drain deadline cut), so what it sees does
// not change: the frames just cost no decoding and no hand-off. Every other
// frame (statuses, a task's end, TerminationError) is read as before.
// Safe from any goroutine; ids is copied.
func (p *Process) DropChunksOf(ids []string) {
	if len(ids) == 0 {
		p.drop.Store(nil)
		return
	}
	d := &dropList{ids: slices.Clone(ids[:min(len(ids), MaxDropTasks)])}
	d.match = d.matches // one func value per list, not one per read
	p.drop.Store(d)
}

// Field numbers of the frame bytes dropChunk matches, from the generated
// descriptors.
var (
	chunkField  = fieldNumber((&exov1.RunnerEnvelope{}).ProtoReflect().Descriptor(), "chunk_generated")
	taskIDField = fieldNumber((&exov1.ChunkGenerated{}).ProtoReflect().Descriptor(), "task_id")
)

func fieldNumber(md protoreflect.MessageDescriptor, name protoreflect.Name) protowire.Number {
	return md.Fields().ByName(name).Number()
}

// chunkTaskID returns the task ID of a RunnerEnvelope body that is a
// ChunkGenerated and nothing else, as the SDKs write it (the envelope's one
// field, the chunk's task_id first and once, its other fields well-formed
// on the wire); ok is false for anything else, which the reader then
// decodes as usual. The fields' contents are not checked.
func chunkTaskID(body []byte) (id []byte, ok bool) {
	num, typ, n := protowire.ConsumeTag(body)
	if n < 0 || num != chunkField || typ != protowire.BytesType {
		return nil, false
	}
	chunk, m := protowire.ConsumeBytes(body[n:])
	if m < 0 || n+m != len(body) {
		return nil, false
	}
	num, typ, n = protowire.ConsumeTag(chunk)
	if n < 0 || num != taskIDField || typ != protowire.BytesType {
		return nil, false
	}
	id, m = protowire.ConsumeBytes(chunk[n:])
	if m < 0 {
		return nil, false
	}
	// The rest must be well-formed fields and hold no second task_id (the
	// last would win in a decode).
	for rest := chunk[n+m:]; len(rest) > 0; {
		num, _, k := protowire.ConsumeField(rest)
		if k < 0 || num == taskIDField {
			return nil, false
		}
		rest = rest[k:]
	}
	return id, true
}

// dropList is what DropChunksOf stored; match is the reader's Skip test.
type dropList struct {
	ids   []string
	match func(body []byte) bool
}

func (d *dropList) matches(body []byte) bool {
	id, ok := chunkTaskID(body)
	if !ok {
		return false
	}
	for _, t := range d.ids {
		if string(id) == t {
			return true
		}
	}
	return false
}

package proc_test

import (
	"fmt"
	"os"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/internal/proc"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestRecycleEnvelopes: the stdout reader decodes later frames into the
// envelopes of a batch its owner recycled, and only those: what an
// envelope's body pointed to (a chunk, a heartbeat) is never written to
// again, and the envelopes of a batch the owner kept are never reused.
// Every frame arrives, in order, equal to what the runner wrote.
func TestRecycleEnvelopes(t *testing.T) {
	var all []*exov1.RunnerEnvelope
	for i := range uint64(6000) { // many batches of the reader's
		env := chunk(fmt.Sprintf("task-%d", i%3), i)
		switch {
		case i%500 == 7:
			env = &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: i}}}
		case i%300 == 11:
			env = &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
				TaskId: "task-e", Index: i, Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: "boom"}}}}}
		case i%40 == 0:
			env.GetChunkGenerated().GetToken().Text = fmt.Sprintf("a longer token text, frame %d", i)
			env.GetChunkGenerated().GetToken().FinishReason = "stop"
		}
		all = append(all, env)
	}
	frames := framesFile(t, all)

	got := make(chan any, 64) // never closed: the process's goroutines send, the test reads
	s := proc.NewSpawner()
	defer s.Close()
	p, err := s.Start(proc.Spec{Path: "/bin/cat", Args: []string{frames}, Env: os.Environ()},
		1, func(m any) { got <- m }, proc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.CloseInput()

	type held struct {
		body  proto.Message // what the owner keeps of the frame
		clone proto.Message // its value when delivered
	}
	var (
		bodies   []held
		kept     = map[*exov1.RunnerEnvelope]bool{} // envelopes of batches not recycled
		seen     = map[*exov1.RunnerEnvelope]bool{}
		reused   = 0
		batches  = 0
		frameNum int
	)
	closed := readToEnd(t, got, func(m *proc.Frames) {
		batches++
		inBatch := map[*exov1.RunnerEnvelope]bool{}
		for _, env := range m.Envs {
			if inBatch[env] {
				t.Fatalf("batch %d delivers one envelope twice", batches)
			}
			inBatch[env] = true
			if kept[env] {
				t.Fatalf("batch %d reuses an envelope of a batch the owner did not recycle", batches)
			}
			if seen[env] {
				reused++
			}
			seen[env] = true
			if frameNum >= len(all) || !proto.Equal(env, all[frameNum]) {
				t.Fatalf("frame %d: got %v", frameNum, env)
			}
			frameNum++
			var body proto.Message = env.GetChunkGenerated()
			if hb := env.GetHeartbeat(); hb != nil {
				body = hb
			}
			bodies = append(bodies, held{body, proto.Clone(body)})
		}
		if batches%3 == 0 {
			for _, env := range m.Envs {
				kept[env] = true
			}
		} else {
			p.Recycle(m)
		}
		p.Release()
	})
	if closed.Err != nil || frameNum != len(all) {
		t.Fatalf("reader ended with %v after %d frames, want a clean end after %d", closed.Err, frameNum, len(all))
	}
	for i, h := range bodies {
		if !proto.Equal(h.body, h.clone) {
			t.Fatalf("frame %d: what the owner kept changed after its envelope was recycled: %v, was %v", i, h.body, h.clone)
		}
	}
	if reused == 0 {
		t.Errorf("no envelope was reused over %d batches", batches)
	}
	t.Logf("%d frames in %d batches, %d decoded into a recycled envelope", frameNum, batches, reused)
}

package proc_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/internal/frame"
	"github.com/exo-actors/exo-actors/internal/proc"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func chunk(task string, i uint64) *exov1.RunnerEnvelope {
	return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
		TaskId: task, Index: i, Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "tok", TokenId: uint32(i)}}}}}
}

func taskEnd(task string) *exov1.RunnerEnvelope {
	return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{
		TaskId: task, Status: exov1.TaskStatus_TASK_STATUS_CANCELLED}}}
}

// TestDropChunksOf: once the owner names a task, the stdout reader skips
// that task's chunk frames without delivering them, and only those: the
// other tasks' chunks (a task whose ID starts like it included), the
// named task's own status frames and everything else arrive in order.
// ReaderClosed counts the skipped frames in Frames and in Skipped.
func TestDropChunksOf(t *testing.T) {
	var want, all []*exov1.RunnerEnvelope
	add := func(env *exov1.RunnerEnvelope, kept bool) {
		all = append(all, env)
		if kept {
			want = append(want, env)
		}
	}
	for i := range uint64(3000) { // several reads of the reader's buffer
		add(chunk("cut", i), false)
		if i%100 == 0 {
			add(chunk("cut-not", i), true)
			add(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: i}}}, true)
		}
	}
	add(taskEnd("cut"), true)
	add(chunk("other", 0), true)

	frames := framesFile(t, all)

	got := make(chan any, 64) // never closed: the process's goroutines send, the test reads
	s := proc.NewSpawner()
	defer s.Close()
	// The child writes the frames only after its first stdin byte, which
	// the test sends once the drop list is set: every frame is read under it.
	p, err := s.Start(proc.Spec{Path: "/bin/sh", Args: []string{"-c", `head -c 1 >/dev/null && cat "$0"`, frames}, Env: os.Environ()},
		1, func(m any) { got <- m }, proc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.DropChunksOf([]string{"cut"})
	if err := p.Send(&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Ping{Ping: &exov1.Ping{Nonce: 1}}}); err != nil {
		t.Fatal(err)
	}
	p.CloseInput()
	var delivered []*exov1.RunnerEnvelope
	closed := readToEnd(t, got, func(m *proc.Frames) {
		delivered = append(delivered, m.Envs...)
		p.Release()
	})
	if closed.Err != nil {
		t.Fatalf("reader ended with %v", closed.Err)
	}
	// A frame that lies across two reads of the reader's buffer is decoded
	// and delivered (the owner drops it); every other chunk of "cut" is
	// skipped.
	var kept []*exov1.RunnerEnvelope
	decodedCut := 0
	for _, env := range delivered {
		if env.GetChunkGenerated().GetTaskId() == "cut" {
			decodedCut++
			continue
		}
		kept = append(kept, env)
	}
	if len(kept) != len(want) {
		t.Fatalf("delivered %d frames besides chunks of the dropped task, want %d", len(kept), len(want))
	}
	for i := range want {
		if !proto.Equal(kept[i], want[i]) {
			t.Fatalf("frame %d: got %v, want %v", i, kept[i], want[i])
		}
	}
	cut := len(all) - len(want)
	if closed.Skipped == 0 || int(closed.Skipped)+decodedCut != cut || closed.Frames != uint64(len(all)) {
		t.Errorf("ReaderClosed counts %d frames, %d skipped, and %d chunks of the dropped task were delivered; want %d frames, skipped + delivered = %d",
			closed.Frames, closed.Skipped, decodedCut, len(all), cut)
	}
	t.Logf("%d of %d chunk frames of the dropped task skipped undecoded, %d decoded (across a buffer boundary)", closed.Skipped, cut, decodedCut)
}

// readToEnd takes what a process delivers on got until both its stdout
// reader and its waiter are done, hands each Frames batch to onFrames, and
// returns the reader's end.
func readToEnd(t *testing.T, got <-chan any, onFrames func(*proc.Frames)) *proc.ReaderClosed {
	t.Helper()
	var closed *proc.ReaderClosed
	exited := false
	timeout := time.After(30 * time.Second) // a bound on a hang, not a timing assertion
	for closed == nil || !exited {
		select {
		case m := <-got:
			switch m := m.(type) {
			case *proc.Frames:
				onFrames(m)
			case *proc.ReaderClosed:
				closed = m
			case *proc.Exited:
				exited = true
			}
		case <-timeout:
			t.Fatal("no end of stdout or no exit after 30 s")
		}
	}
	return closed
}

// framesFile writes envs as delimited frames to a file in a temporary
// directory and returns its path, for a child that replays them on stdout.
func framesFile(t *testing.T, envs []*exov1.RunnerEnvelope) string {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "frames"))
	if err != nil {
		t.Fatal(err)
	}
	w := frame.NewWriter(f)
	for _, env := range envs {
		if err := w.Write(env); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return f.Name()
}

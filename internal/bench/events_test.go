package bench

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/exo-actors/exo-actors/actors/streams"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestReadTaskCountsGaps drives the events rows' reader over a stream whose
// subscriber overflows on purpose (Window 1, Buffer 3, ten chunks published
// before it reads): it must count the Gap, return only the chunks delivered
// and accept the jump in indices the Gap explains.
func TestReadTaskCountsGaps(t *testing.T) {
	sys := actor.NewActorSystem(
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
	)
	defer sys.Shutdown()
	s := streams.New(exo.TopicTasks, streams.Config{})
	if _, err := s.Spawn(sys.Root.Copy().WithGuardian(streams.ParentStrategy(nil)), "tasks"); err != nil {
		t.Fatal(err)
	}
	const n = 10
	sub := s.Subscribe(streams.Filter{RunnerID: "r1", Kinds: []string{chunkTopicKind}}, streams.SubscribeOptions{Buffer: 3, Window: 1})
	for i := range n {
		c := exo.Chunk{TaskID: "t1", Index: uint64(i)}
		if err := s.Publish(streams.Event{RunnerID: "r1", TaskID: "t1", Kind: chunkTopicKind, Payload: exo.TaskChunk{RunnerID: "r1", TaskID: "t1", Chunk: c}}); err != nil {
			t.Fatal(err)
		}
		// Another runner's chunks and a status event: filtered out.
		_ = s.Publish(streams.Event{RunnerID: "r2", TaskID: "t2", Kind: chunkTopicKind, Payload: exo.TaskChunk{RunnerID: "r2", TaskID: "t2", Chunk: c}})
		_ = s.Publish(streams.Event{RunnerID: "r1", TaskID: "t1", Kind: "task_status", Payload: exo.TaskStatusChanged{RunnerID: "r1", TaskID: "t1"}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Closing hands over everything buffered (the Gap first), after every
	// Publish above.
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cs := &chunkSub{sub: rawSub{sub}, taskID: "t1"}
	// Chunk 0 is delivered at once (credit 1); chunks 1..9 wait in a buffer
	// of 3, so 1..6 are dropped and one Gap stands for them before 7, 8, 9.
	got, err := cs.readTask(ctx, n)
	if err != nil {
		t.Fatal(err)
	}
	if got != 4 || cs.gaps != 1 || cs.dropped != 6 {
		t.Errorf("delivered %d, gaps %d, dropped %d; want 4, 1, 6", got, cs.gaps, cs.dropped)
	}
	if note := gapNote(cs.gaps, cs.dropped); !strings.Contains(note, "1 Gap events: 6 chunks dropped") {
		t.Errorf("gap note %q", note)
	}
	if st := s.Stats(); st.Check() != nil {
		t.Errorf("stream accounting: %v", st.Check())
	}
}

// TestReadTaskRejectsOtherTask: a chunk of another task on the runner is an
// error, not a chunk of the measured task.
func TestReadTaskRejectsOtherTask(t *testing.T) {
	sys := actor.NewActorSystem(
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
	)
	defer sys.Shutdown()
	s := streams.New(exo.TopicTasks, streams.Config{})
	if _, err := s.Spawn(sys.Root.Copy().WithGuardian(streams.ParentStrategy(nil)), "tasks"); err != nil {
		t.Fatal(err)
	}
	sub := s.Subscribe(streams.Filter{RunnerID: "r1", Kinds: []string{chunkTopicKind}}, streams.SubscribeOptions(subscribeOptions(2)))
	c := exo.Chunk{TaskID: "old", Index: 0}
	_ = s.Publish(streams.Event{RunnerID: "r1", TaskID: "old", Kind: chunkTopicKind, Payload: exo.TaskChunk{RunnerID: "r1", TaskID: "old", Chunk: c}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	cs := &chunkSub{sub: rawSub{sub}, taskID: "t1"}
	if _, err := cs.readTask(ctx, 2); err == nil || !strings.Contains(err.Error(), `chunk of task "old"`) {
		t.Errorf("readTask over another task's chunk: %v", err)
	}
}

// rawSub reads a bare stream whose payloads are exo events, as a System's
// Subscription does.
type rawSub struct{ s *streams.Subscription }

func (r rawSub) Next(ctx context.Context) (exo.StreamEvent, error) {
	e, err := r.s.Next(ctx)
	if err != nil {
		return exo.StreamEvent{}, err
	}
	out := exo.StreamEvent{Stream: e.Stream, Seq: e.Seq, RunnerID: e.RunnerID, TaskID: e.TaskID, Kind: e.Kind, At: e.At}
	out.Payload, _ = e.Payload.(exo.Event)
	if e.Gap != nil {
		out.Gap = &exo.Gap{Dropped: e.Gap.Dropped, FromSeq: e.Gap.FromSeq, ToSeq: e.Gap.ToSeq}
	}
	return out, nil
}

func (r rawSub) Close() { r.s.Close() }

// NextBatch is Next for one event at a time (the bench's batch reader
// accepts batches of any size).
func (r rawSub) NextBatch(ctx context.Context, buf []exo.StreamEvent, _ int) ([]exo.StreamEvent, error) {
	ev, err := r.Next(ctx)
	if err != nil {
		return buf, err
	}
	return append(buf, ev), nil
}

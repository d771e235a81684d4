package runner

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Session is the runner's side of one accepted handshake, given to
// Handler.Load to report the runner's statuses. Its methods are safe for
// concurrent use.
type Session struct {
	srv *server
}

// RunnerID returns the runner's ID: the one HelloAccepted named, else the
// one from the environment (EXO_RUNNER_ID), possibly empty.
func (s *Session) RunnerID() string { return s.srv.runnerID }

// Version returns the protocol version the supervisor accepted.
func (s *Session) Version() uint32 { return s.srv.version }

// Status returns the runner's current status.
func (s *Session) Status() exov1.RunnerStatusKind {
	s.srv.mu.Lock()
	defer s.srv.mu.Unlock()
	return s.srv.status
}

// SetStatus reports a new runner status: Connecting, Connected, Loaded,
// WarmingUp or Ready (Idle is where every runner starts). It returns an error
// wrapping ErrInvalidTransition, and sends nothing, when the protocol does not
// allow the change (docs/protocol.md, "Runner statuses"), or for statuses reported
// otherwise: Loading (use Loading), Running, ShuttingDown and Shutdown (the
// SDK's), Failed (return an error from Load).
func (s *Session) SetStatus(kind exov1.RunnerStatusKind) error {
	switch kind {
	case loading:
		return fmt.Errorf("%w: report Loading with Session.Loading", ErrInvalidTransition)
	case running, shuttingDown, shutdown, failed:
		return fmt.Errorf("%w: %s is reported by the SDK, not the handler", ErrInvalidTransition, protocol.StatusName(kind))
	}
	return s.srv.setStatus(kind)
}

// Loading reports Loading(loaded/total): loaded of total layers are in
// memory. The heartbeat's layers_loaded counter follows it. It returns an
// error wrapping ErrInvalidTransition when the runner cannot be Loading now,
// when loaded > total or total is 0, or when the layers go backwards or total
// changes during loading.
func (s *Session) Loading(loaded, total uint32) error {
	if total == 0 || loaded > total {
		return fmt.Errorf("%w: Loading(%d/%d): want 0 <= loaded <= total and total > 0", ErrInvalidTransition, loaded, total)
	}
	srv := s.srv
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.status == loading && (loaded < srv.layers || total != srv.total) {
		return fmt.Errorf("%w: Loading(%d/%d) after Loading(%d/%d): layers may not go backwards nor the total change",
			ErrInvalidTransition, loaded, total, srv.layers, srv.total)
	}
	if err := srv.setStatusLocked(&exov1.RunnerStatus{Kind: loading, LayersLoaded: loaded, TotalLayers: total}); err != nil {
		return err
	}
	srv.layers, srv.total = loaded, total
	return nil
}

// Task is one task given to Handler.Run. Its methods are safe for concurrent
// use.
type Task struct {
	srv *server
	msg *exov1.Task

	cancel context.CancelFunc
	cut    atomic.Bool // the SDK cancelled it: Chunk writes nothing more

	reason string // why the SDK cancelled the task; empty if it did not; guarded by srv.tmu

	// Guarded by srv.mu.
	next  uint64 // index of the next chunk
	ended bool   // Finish was called or Run returned
}

// ID returns the task's ID, unique among the runner's running tasks.
func (t *Task) ID() string { return t.msg.GetId() }

// Kind returns what to do, e.g. "text_generation".
func (t *Task) Kind() string { return t.msg.GetKind() }

// Payload returns the task's input. Do not modify it.
func (t *Task) Payload() []byte { return t.msg.GetPayload() }

// Params returns the task's free-form parameters (never nil). Do not modify
// the map.
func (t *Task) Params() map[string]string {
	if p := t.msg.GetParams(); p != nil {
		return p
	}
	return map[string]string{}
}

// Chunk streams one generated token. Chunks are numbered from 0 in the order
// of the calls (the index doubles as the token_id); the heartbeat's
// tokens_produced counts them. It returns
// ErrTaskEnded after Finish, after Run returned or once the task was
// cancelled (a Cancel, a Shutdown: nothing more of it is written, so a task
// that streams without looking at its context still stops at once), and
// the write error when the supervisor cannot be reached.
func (t *Task) Chunk(text string) error {
	return t.chunk(text, "")
}

// Finish streams the task's last token with finishReason, e.g. "stop" or
// "length" (required), and ends the stream: later Chunk and Finish calls
// return ErrTaskEnded. Run should return nil after it.
func (t *Task) Finish(finishReason, text string) error {
	if finishReason == "" {
		return errors.New("runner: Task.Finish needs a finish reason, such as \"stop\" or \"length\"")
	}
	return t.chunk(text, finishReason)
}

// Flush writes the task's start (its Running and TaskAcknowledged frames)
// now if the SDK still holds it: the SDK sends a task's start with its
// first chunk or its end, or once its reader runs again, so that a task
// that ends at once goes out in one write. It returns the write error, if
// any.
//
// When stdout is a pipe the supervisor has not emptied, "written" means
// handed to the SDK's pipe writer, which writes it as soon as the pipe has
// room (see the package documentation): a process that exits at once
// (os.Exit) after Flush can lose it, with up to 64 KiB of frames before it.
// Write nothing to the process's stdout except through the SDK: while Serve
// runs the pipe is in non-blocking mode (os.Stdout's own writes would fail
// with EAGAIN) and bytes written around the SDK could land inside a frame.
func (t *Task) Flush() error {
	return t.srv.flushStart()
}

func (t *Task) chunk(text, finishReason string) error {
	srv := t.srv
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if t.ended {
		return fmt.Errorf("runner: task %s: %w", t.ID(), ErrTaskEnded)
	}
	if t.cut.Load() {
		return fmt.Errorf("runner: task %s was cancelled: %w", t.ID(), ErrTaskEnded)
	}
	err := srv.writeLocked(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
		TaskId: t.ID(),
		Index:  t.next,
		Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{
			Text: text, TokenId: uint32(t.next), FinishReason: finishReason,
		}},
	}}})
	if err != nil {
		return err
	}
	t.next++
	srv.tokens++
	if finishReason != "" {
		t.ended = true
	}
	return nil
}

// stop cancels the task's context, recording why; srv.tmu must be held
// (never srv.mu: a task blocked writing holds that one).
func (t *Task) stop(reason string) {
	if t.reason == "" {
		t.reason = reason
	}
	t.cut.Store(true)
	t.cancel()
}

package conformance

import (
	"fmt"
	"testing"

	"github.com/exo-actors/exo-actors/internal/frame"
	"github.com/exo-actors/exo-actors/internal/proc"
)

// TestStderrCauseCountsDroppedLines: lines the process's stderr buffer
// dropped unread (a runner flooding stderr between two takes) are counted
// in the "… (N lines)" between the error line and the tail, so the count
// stays true under a flood (a review found it counted only the lines
// read).
func TestStderrCauseCountsDroppedLines(t *testing.T) {
	var s session
	line := func(text string) proc.StderrLine { return proc.StderrLine{Line: text} }
	s.addStderr([]proc.StderrLine{line("loading model"), line("Error: model file missing")}, 0)
	// 500 lines dropped unread, then 20 read: the tail keeps the last 8.
	var later []proc.StderrLine
	for i := range 20 {
		later = append(later, line(fmt.Sprintf("  at frame %d", i)))
	}
	s.addStderr(later, 500)
	cause, between := s.stderrCause()
	if cause != "Error: model file missing" {
		t.Fatalf("cause %q, want the error line", cause)
	}
	// After the error line: 500 dropped and 20 read, of which the tail
	// shows 8.
	if want := 500 + 20 - stderrTail; between != want {
		t.Errorf("%d lines between the error line and the tail, want %d", between, want)
	}
	if len(s.stderr) != stderrTail || s.stderr[stderrTail-1] != "  at frame 19" {
		t.Errorf("tail %q, want the last %d lines read", s.stderr, stderrTail)
	}
}

// TestTaskFrameErrorSaysWhichCount: a frame error inside a task names the
// task's own frames so far apart from the frame's number in the stream (a
// trial read "frame 17 at byte 192: … after 0 frames" as a
// contradiction).
func TestTaskFrameErrorSaysWhichCount(t *testing.T) {
	fe := &frame.Error{Frame: 17, Offset: 192, Kind: frame.ErrTruncated}
	if got, want := framesSoFar(0, fe), "before any frame of it (heartbeats aside; a frame's number counts every frame since the runner started)"; got != want {
		t.Errorf("framesSoFar(0, frame error) = %q, want %q", got, want)
	}
	if got, want := framesSoFar(3, errTimeout), "after 3 of its frames"; got != want {
		t.Errorf("framesSoFar(3, timeout) = %q, want %q", got, want)
	}
}

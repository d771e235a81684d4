package streams

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

// TestEndOfStreamText: an ended subscription's error reads "end of stream:
// <why>" with no stray "EOF:", and still matches ErrEndOfStream and io.EOF
// (and whatever cause it wraps, e.g. a remote client's ErrNodeLost).
func TestEndOfStreamText(t *testing.T) {
	lost := errors.New("node lost")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{endReason("tasks", "closed"), `end of stream: stream "tasks" closed`},
		{fmt.Errorf("%w: %w", ErrEndOfStream, fmt.Errorf("%w: node node-b (127.0.0.1:7102) lost: its endpoint terminated", lost)),
			"end of stream: node lost: node node-b (127.0.0.1:7102) lost: its endpoint terminated"},
	} {
		if tc.err.Error() != tc.want {
			t.Errorf("text %q, want %q", tc.err, tc.want)
		}
		if !errors.Is(tc.err, ErrEndOfStream) || !errors.Is(tc.err, io.EOF) {
			t.Errorf("%q: errors.Is ErrEndOfStream %v, io.EOF %v; want both", tc.err, errors.Is(tc.err, ErrEndOfStream), errors.Is(tc.err, io.EOF))
		}
	}
	if err := fmt.Errorf("%w: %w", ErrEndOfStream, lost); !errors.Is(err, lost) {
		t.Errorf("%v does not wrap its cause", err)
	}
}

package errjoin

import (
	"errors"
	"testing"
)

func TestOneLine(t *testing.T) {
	a, b := errors.New("first"), errors.New("second")
	if OneLine() != nil || OneLine(nil, nil) != nil {
		t.Error("no error: want nil")
	}
	if err := OneLine(nil, a); err != a {
		t.Errorf("one error: got %v, want it itself", err)
	}
	err := OneLine(a, nil, b)
	if err.Error() != "first; second" {
		t.Errorf("text %q, want %q", err.Error(), "first; second")
	}
	if !errors.Is(err, a) || !errors.Is(err, b) {
		t.Error("errors.Is does not find each joined error")
	}
}

func TestTag(t *testing.T) {
	sentinel, inner := errors.New("invalid config"), errors.New("port 99999: want 0-65535")
	err := Tag(sentinel, inner)
	if err.Error() != inner.Error() || !errors.Is(err, sentinel) || !errors.Is(err, inner) {
		t.Errorf("Tag: %q; want the inner text, and errors.Is to find both", err)
	}
	if Tag(sentinel, nil) != nil {
		t.Error("Tag of nil: want nil")
	}
}

package proc_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/proc"
)

// TestStderrFloodIsBounded: a process writes 5,000 stderr lines while its
// owner takes none. The reader rings the owner once (one StderrReady, not
// one message per line: before, every line was a message in the owner's
// unbounded mailbox, and a runner printing in a loop grew a node by
// hundreds of MB and buried its Hello behind millions of lines), keeps
// reading (the process is never blocked by its stderr) and keeps the last
// DefaultStderrBuffer lines, counting the ones it dropped.
func TestStderrFloodIsBounded(t *testing.T) {
	const lines = 5000
	got := make(chan any, 64) // never closed: the process's goroutines send, the test reads
	s := proc.NewSpawner()
	defer s.Close()
	script := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do echo "line $i" >&2; i=$((i+1)); done`, lines)
	p, err := s.Start(proc.Spec{Path: "/bin/sh", Args: []string{"-c", script}, Env: os.Environ()}, 1, func(m any) { got <- m }, proc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p.CloseInput()
	rings, stderrClosed, exited := 0, false, false
	deadline := time.After(30 * time.Second)
	for !stderrClosed || !exited {
		select {
		case m := <-got:
			switch m.(type) {
			case *proc.StderrReady:
				rings++
			case *proc.StderrClosed:
				stderrClosed = true
			case *proc.Exited:
				exited = true
			case *proc.Frames:
				p.Release()
			}
		case <-deadline:
			t.Fatalf("the process did not end: stderr closed %v, exited %v", stderrClosed, exited)
		}
	}
	if rings != 1 {
		t.Errorf("%d StderrReady before any take, want 1", rings)
	}
	kept, dropped := p.TakeStderr()
	if len(kept) != proc.DefaultStderrBuffer || dropped != lines-proc.DefaultStderrBuffer {
		t.Fatalf("kept %d lines and dropped %d, want %d and %d", len(kept), dropped, proc.DefaultStderrBuffer, lines-proc.DefaultStderrBuffer)
	}
	for i, l := range kept {
		if want := fmt.Sprintf("line %d", lines-proc.DefaultStderrBuffer+i); l.Line != want {
			t.Fatalf("kept line %d is %q, want %q (the newest lines, oldest first)", i, l.Line, want)
		}
	}
	if again, d := p.TakeStderr(); len(again) != 0 || d != 0 {
		t.Errorf("a second take returned %d lines and %d dropped, want none", len(again), d)
	}
}

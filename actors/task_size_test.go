package actors_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestSubmitRefusesATaskOverTheFrameLimit: a task whose frame to the
// runner would exceed the frame size limit is refused by Submit
// (ErrInvalidTask, naming the sizes and what to do), and the runner goes
// on serving. Before, Submit took a 5 MiB payload, the write to the
// runner's stdin failed, and the node killed the runner and retired it
// for good as one that "closed its stdin" (a new user's trial).
func TestSubmitRefusesATaskOverTheFrameLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   int // NodeConfig.MaxFrameSize; 0: the default 4 MiB
		payload int
	}{
		{"default limit", 0, 5 << 20},
		{"configured limit", 64 << 10, 100 << 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := startNode(t, func(c *actors.NodeConfig) { c.MaxFrameSize = tc.limit })
			id := readyRunner(t, n)
			_, err := n.Submit(ctxT(t), id, actors.TaskSpec{ID: "big", Kind: "noop", Payload: make([]byte, tc.payload)})
			if !errors.Is(err, actors.ErrInvalidTask) || !strings.Contains(err.Error(), "over the frame size limit") ||
				!strings.Contains(err.Error(), "send the runner a reference to large data") {
				t.Fatalf("Submit of a %d-byte payload: %v; want ErrInvalidTask naming the frame size limit", tc.payload, err)
			}
			if o := wait(t, mustSubmit(t, n, id, textTask("after", 3))); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
				t.Errorf("a task after the refused one: %s (%s); want Complete on the same runner", actors.TaskStatusName(o.Status), o.Reason)
			}
		})
	}
}

// TestBadBuiltinBinaryRefusedAtStart: a configured BuiltinBinary that does
// not exist, or is not executable, fails StartNode naming the field.
// Before, the node started, and each built-in runner's spawn failed later
// with advice about the spec's command and PATH (a new user's trial).
func TestBadBuiltinBinaryRefusedAtStart(t *testing.T) {
	dir := t.TempDir()
	for _, path := range []string{dir + "/nope/exo", dir} {
		n, err := actors.StartNode(actors.NodeConfig{BuiltinBinary: path})
		if err == nil {
			_, _ = n.Shutdown(ctxT(t))
			t.Fatalf("StartNode with BuiltinBinary %q: no error", path)
		}
		if !strings.Contains(err.Error(), "BuiltinBinary \""+path+"\"") || !strings.Contains(err.Error(), "exo-actors binary") {
			t.Errorf("StartNode with BuiltinBinary %q: %v; want it named, with what to give", path, err)
		}
	}
}

package actors_test

import (
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestStderrFloodLeavesSupervisionAlone: a runner whose stderr is flooded
// (a `yes` in its group writes as fast as it can, from before its Hello
// until it is stopped) says Hello, runs a task and stops like any other,
// and the node logs a bounded number of its lines plus a warning of how
// many it left out. Before, each stderr line was a message in the runner
// actor's unbounded mailbox: an SRE's runner like this never became Ready
// ("not Ready (status Idle)" after 60 s, no handshake timeout either: the
// timer's message waited behind millions of lines), the node grew by
// hundreds of MB, and its forced shutdown did not end.
func TestStderrFloodLeavesSupervisionAlone(t *testing.T) {
	script := `yes stderr-spam-line >&2 & exec "$0" runner --layers 1 --layer-delay 0s --warmup-delay 0s`
	n := startNode(t)
	id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "spammy", Command: "/bin/sh", Args: []string{"-c", script, binary}})
	if err != nil {
		t.Fatal(err)
	}
	n.rec.waitFor(t, 20*time.Second, "Ready", hasStatus(id, ready))
	h, err := n.Submit(ctxT(t), id, actors.TaskSpec{ID: "under-flood", Kind: "noop"})
	if err != nil {
		t.Fatal(err)
	}
	if o := wait(t, h); o.Status != exov1.TaskStatus_TASK_STATUS_COMPLETE {
		t.Fatalf("task under a stderr flood: %+v", o)
	}
	n.logs.waitLog(t, 20*time.Second, "the warning of stderr lines left out", func(e *logrus.Entry) bool {
		return e.Level == logrus.WarnLevel && e.Data["runner_id"] == id && e.Data["not_logged"] != nil
	})
	if _, err := n.StopRunner(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	logged := 0
	for _, e := range n.logs.all() {
		if e.Message == "runner stderr" && e.Data["runner_id"] == id {
			logged++
		}
	}
	t.Logf("%d stderr lines logged", logged)
}

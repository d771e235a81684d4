package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// helperEnv names the helper a re-run of this test binary runs
// (TestMain): a test whose client must live in a process of its own (the
// client endpoint outlives every Client of its process, and goleak would
// see it here).
const helperEnv = "EXO_CLI_TEST_HELPER"

// runHelper runs helper h and returns the process's exit code.
func runHelper(h string) int {
	switch h {
	case "run-read-late":
		return helperRunReadLate(os.Getenv("EXO_CLI_TEST_NODE"))
	case "raw-index-from-1":
		return helperIndexFromOne()
	}
	fmt.Fprintf(os.Stderr, "unknown helper %q\n", h)
	return 2
}

// helperRunReadLate runs `remote run` in this process against the node at
// addr, its reader held back until every task has ended
// (testHookReadLate), and prints what the run printed; exit 1 when the
// run failed.
func helperRunReadLate(addr string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := exo.Dial(ctx, addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	testHookReadLate = true
	// 2 tasks of 10000 tokens, one after the other on the runner: the
	// first ends behind 10000 events, the second 10000 later, beyond the
	// run's buffer of 8192 on the node: the first outcome is dropped.
	r := remoteRun{kind: "echo", tasks: 2, tokens: 10000, taskKind: "text_generation", timeout: 2 * time.Minute, cleanup: 15 * time.Second}
	if err := r.parseParams(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var b bytes.Buffer
	err = runRemote(ctx, &b, []*exo.Client{c}, r)
	fmt.Print(b.String())
	if err != nil || ctx.Err() != nil {
		fmt.Fprintf(os.Stderr, "run: %v (ctx %v)\n", err, ctx.Err())
		return 1
	}
	return 0
}

// TestRemoteRunOutcomeInAGap: a reader slower than the runner loses the
// oldest events of the tasks stream in Gaps, a task's outcome among them.
// `remote run` stops reading once it has read up to where the stream was
// when every task had ended, and counts the outcomes the Gaps hid. Before,
// it waited for the hidden outcome until --timeout, then blamed the
// timeout (a new user's trial: "3 of 3 tasks had ended … allow more time").
func TestRemoteRunOutcomeInAGap(t *testing.T) {
	cmd, out, stderr := startNodeWithConfig(t, "gap-a",
		`{"kinds": {"echo": {"builtin": true, "args": ["--layers", "1", "--layer-delay", "0s", "--token-delay", "0s"]}}}`)
	head := readUntil(t, out, "listening on ")
	_, rest, _ := strings.Cut(head, "listening on ")
	addr := strings.Fields(rest)[0]

	helper := exec.Command(os.Args[0], "-test.run=^$")
	helper.Env = append(os.Environ(), helperEnv+"=run-read-late", "EXO_CLI_TEST_NODE="+addr)
	var hout, herr bytes.Buffer
	helper.Stdout, helper.Stderr = &hout, &herr
	err := testutil.RunChild(helper)
	if err != nil {
		t.Errorf("helper: %v\n%s%s", err, hout.String(), herr.String())
	}
	if got := hout.String(); !strings.Contains(got, "2 tasks passed the check") || !strings.Contains(got, "1 outcome (and 1 in gaps)") {
		t.Errorf("want both tasks passed, one outcome seen and one counted as hidden in a gap:\n%s", got)
	}
	t.Log(hout.String())
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if code := waitExit(t, cmd); code != ExitOK {
		t.Errorf("node exit %d: %s", code, stderr.String())
	}
}

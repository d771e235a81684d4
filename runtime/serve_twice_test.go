package runtime_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// runServeTwice is the helper process "serve-twice" (one protoactor Remote
// per process): it tries what a host's trial did, printing one line per
// step, "ok STEP" or "bad STEP: why", then "done".
func runServeTwice() int {
	exoBin = os.Getenv("EXO_BUILTIN")
	cfg := config()
	cfg.Logger = quietLogger()
	sys, err := exo.New(cfg)
	if err != nil {
		fmt.Println("bad new:", err)
		return 1
	}
	kinds := map[string]exo.RemoteKind{"echo": {Spec: exo.RunnerSpec{Kind: "echo", Builtin: true}}}
	logger := quietLogger()
	step := func(name string, err error, want ...string) {
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) || !errors.Is(err, exo.ErrInvalidConfig) {
				fmt.Printf("bad %s: %v; want ErrInvalidConfig saying %q\n", name, err, w)
				return
			}
		}
		fmt.Println("ok", name)
	}
	// A bad config is refused before anything starts, naming the field;
	// the same System then serves with the config fixed.
	_, err = sys.Serve(exo.ServeConfig{Kinds: kinds, Logger: logger})
	step("no-name", err, "ServeConfig.Name is empty")
	_, err = sys.Serve(exo.ServeConfig{Name: "n", Kinds: map[string]exo.RemoteKind{"echo": {Spec: exo.RunnerSpec{Kind: "other", Builtin: true}}}, Logger: logger})
	step("kind-mismatch", err, `ServeConfig.Kinds["echo"] has a Spec of kind "other"`)
	srv, err := sys.Serve(exo.ServeConfig{Name: "n", Kinds: kinds, Logger: logger})
	if err != nil {
		fmt.Println("bad serve after the fix:", err)
		return 1
	}
	fmt.Println("ok serve")
	// A second Serve, of this System or another, is refused and leaves the
	// first serving.
	_, err = sys.Serve(exo.ServeConfig{Name: "n2", Kinds: kinds, Logger: logger})
	step("again", err, "this System already serves on "+srv.Addr())
	other, err := exo.New(cfg)
	if err != nil {
		fmt.Println("bad new other:", err)
		return 1
	}
	_, err = other.Serve(exo.ServeConfig{Name: "n3", Kinds: kinds, Logger: logger})
	step("other", err, "another System of this process already serves on "+srv.Addr())
	// The first still serves, and closes at once (before, it hung for
	// more than 15 s after a second Serve).
	closed := make(chan struct{})
	go func() { // owner: this helper, which waits for closed
		srv.Close()
		close(closed) // sole sender: this goroutine
	}()
	select {
	case <-closed:
		fmt.Println("ok close")
	case <-time.After(10 * time.Second):
		fmt.Println("bad close: Close did not return within 10s")
		return 1
	}
	_, err = sys.Serve(exo.ServeConfig{Name: "n", Kinds: kinds, Logger: logger})
	step("after-close", err, "this System served before")
	fmt.Println("done")
	return 0
}

// TestServeRefusesBadConfigAndSecondServe: Serve checks its config before
// anything starts (a host's retry with the config fixed then works), and
// a second Serve in the process is refused clearly, the first serving on
// and closing at once. Before: a Serve without Name started the remote and
// failed, the retry failed "start remote: spawn: name exists", and after
// a second Serve the first Server's Close hung for more than 15 s (a
// host's trial). A process: one protoactor Remote per process.
func TestServeRefusesBadConfigAndSecondServe(t *testing.T) {
	h := startHelper(t, "serve-twice", "EXO_BUILTIN="+exoBinary(t))
	for {
		line := h.line(t, 30*time.Second)
		if strings.HasPrefix(line, "bad") {
			t.Error(line)
		}
		if line == "done" {
			break
		}
	}
	h.wait(t)
}

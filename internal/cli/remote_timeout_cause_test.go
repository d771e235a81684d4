package cli

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
)

// silentAddr listens on a loopback port and accepts connections that it
// never answers (a node frozen with SIGSTOP: the kernel still accepts).
// The test's cleanup closes the listener and the connections and waits
// for its goroutines.
func silentAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() { // owner: this helper's cleanup, which waits for it
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return // the listener was closed
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = io.Copy(io.Discard, c) }() // owner: the cleanup; ends when c is closed
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return l.Addr().String()
}

// TestRemoteRunTimeoutWhileDialingNamesTheNode: when --timeout ends `remote
// run` while it dials, the error still says which node did not answer and
// how (here a silent one): "allow more time" alone sends the user to raise
// --timeout against a frozen node.
func TestRemoteRunTimeoutWhileDialingNamesTheNode(t *testing.T) {
	addr := silentAddr(t)
	_, stderr, code := runRemoteCmd(t, "--node", addr, "--timeout", "1s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1")
	for _, want := range []string{
		"--timeout 1s reached before any runner was spawned",
		"dial " + addr + ": node " + addr + " accepted the connection but did not answer",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	t.Log(stderr)
	if code != ExitFailure || strings.Count(stderr, "\n") != 1 {
		t.Errorf("exit %d, stderr %q; want 1 and one line", code, stderr)
	}
}

package runtime_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestDialSilentNode: a node that accepts the TCP connection but never
// answers (frozen with SIGSTOP: the kernel still accepts; overloaded; a
// path that drops packets) fails the dial when its ctx ends, with a text
// that says so. Before, the plaintext probe gave up after 300 ms as
// "inconclusive", the hello then waited out the ctx (2 minutes from the
// CLI) or protoactor's redials (22 s), and the text blamed a terminated
// gateway or suggested TLS and certificates against a plaintext node.
func TestDialSilentNode(t *testing.T) {
	good := newPKI(t, "good")
	_, goodCli, _ := tlsConfigs(t, good)
	silent := serveRaw(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	for _, tc := range []struct {
		name string
		cfg  any
	}{{"plaintext", nil}, {"TLS", goodCli}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
			defer cancel()
			var err error
			if tc.cfg == nil {
				err = exo.Probe(ctx, silent, nil)
			} else {
				err = exo.Probe(ctx, silent, goodCli)
			}
			if err == nil {
				t.Fatal("no error from a node that never answers")
			}
			// The connection's deadline is the ctx's (its own timer, so
			// ctx.Err() may not be set yet at this instant).
			if dl, _ := ctx.Deadline(); time.Now().Before(dl) {
				t.Errorf("Probe returned before its ctx's deadline: %v", err)
			}
			msg := err.Error()
			t.Log(msg)
			want := "node " + silent + " accepted the connection but did not answer within the dial timeout: it may be frozen (e.g. SIGSTOP), overloaded or unreachable"
			if !strings.Contains(msg, want) {
				t.Errorf("error %q: want %q", msg, want)
			}
			for _, bad := range []string{"TLS", "certificate", "terminated", "\n"} {
				if strings.Contains(msg, bad) {
					t.Errorf("error %q has %q: a false cause", msg, bad)
				}
			}
			if !errors.Is(err, exo.ErrNodeLost) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("errors.Is ErrNodeLost %v, DeadlineExceeded %v: want both", errors.Is(err, exo.ErrNodeLost), errors.Is(err, context.DeadlineExceeded))
			}
		})
	}
}

// TestDialTooShortBlamesTheTimeout: a Dial whose ctx gives it less than a
// dial takes says so and names the fix, whatever step it was cut off in;
// a longer one that times out still names the node's possible states.
// Before, 'remote status --timeout 1ms' against a healthy node said it
// "may be frozen (e.g. SIGSTOP), overloaded or unreachable" (a new user's
// trial).
func TestDialTooShortBlamesTheTimeout(t *testing.T) {
	silent := serveRaw(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	_, err := exo.Dial(ctx, silent)
	if err == nil || !strings.Contains(err.Error(), "likely less than a dial takes") || !strings.Contains(err.Error(), "allow more time") ||
		!errors.Is(err, exo.ErrNodeLost) {
		t.Errorf("a 5 ms dial of a node that never answers: %v; want it to blame the timeout, and wrap ErrNodeLost", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := exo.Dial(ctx, silent); err == nil || strings.Contains(err.Error(), "likely less than a dial takes") {
		t.Errorf("a 300 ms dial of a node that never answers: %v; want it to name the node's states, not blame the timeout", err)
	}
}

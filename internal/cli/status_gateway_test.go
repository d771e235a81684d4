package cli

import (
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestStatusOnAGatewayPort: `status --addr` given a node's gateway port
// (its --listen, gRPC) instead of its --http address says so and what to
// use, plaintext or TLS (exit 1, one line). Before, it printed the HTTP
// client's "malformed HTTP response" with the raw bytes of an HTTP/2
// SETTINGS frame and advised starting a node with --http on that port.
func TestStatusOnAGatewayPort(t *testing.T) {
	dir := t.TempDir()
	p, err := testutil.WritePKI(dir, "node", []net.IP{net.ParseIP("127.0.0.1")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"plaintext", nil, "it answered in HTTP/2 (gRPC), as a node's gateway port (its --listen) does"},
		{"TLS", []string{"--tls-ca", p.CA, "--tls-cert", p.Cert, "--tls-key", p.Key}, "it answered in TLS, as a node's gateway port (its --listen) with --tls-* does"},
	} {
		node, addr := startListeningNode(t, "gwport-"+tc.name, tc.args...)
		code, stderr := runCLI(t, "status", "--addr", addr)
		for _, w := range []string{"exo-actors: " + addr + " is not an HTTP endpoint: " + tc.want, "'node NAME HTTP endpoints on http://…'",
			"'exo-actors remote status --node " + addr} {
			if !strings.Contains(stderr, w) {
				t.Errorf("%s: stderr %q: want %q", tc.name, stderr, w)
			}
		}
		if code != ExitFailure || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, `\x00`) || strings.Contains(stderr, "malformed") {
			t.Errorf("%s: exit %d, stderr %q: want exit 1, one line, no raw bytes", tc.name, code, stderr)
		}
		_ = node.Process.Signal(syscall.SIGTERM)
		_ = node.Wait()
	}
}

package cli

import (
	"bytes"
	"strings"
	"testing"
)

// runCLI runs the command in-process and returns its exit code and stderr.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(args, strings.NewReader(""), &stdout, &stderr)
	return code, stderr.String()
}

// TestRemoteTLSFlagsMissing: on the command line the TLS files are named by
// their flags, before any dial.
func TestRemoteTLSFlagsMissing(t *testing.T) {
	code, stderr := runCLI(t, "remote", "status", "--node", "127.0.0.1:1", "--tls-ca", "ca.pem")
	want := "exo-actors: TLS needs all three of --tls-ca, --tls-cert and --tls-key, but --tls-cert and --tls-key are missing; give them, or none of the three for plaintext"
	if code != ExitUsage || !strings.HasPrefix(stderr, want) || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "CertFile") {
		t.Fatalf("exit %d, stderr %q: want exit 2 and %q", code, stderr, want)
	}
}

package cli

import (
	"bytes"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
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

// TestNodeListenInUse: a node whose --listen address is taken names the
// flag and says what to do (exit 1, one line).
func TestNodeListenInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conf := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exoBinary(t), "node", "--name", "node-x", "--config", conf, "--listen", ln.Addr().String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitFailure {
		t.Fatalf("exit: %v, want code %d; stderr %s", err, ExitFailure, stderr.String())
	}
	want := "exo-actors: node node-x: --listen " + ln.Addr().String() + ": the address is in use (another node or process listens there); pick another port with --listen, or stop that process\n"
	if !strings.HasSuffix(stderr.String(), want) {
		t.Fatalf("stderr %q: want it to end with %q", stderr.String(), want)
	}
}

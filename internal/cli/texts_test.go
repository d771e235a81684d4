package cli

import (
	"bytes"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// runCLI runs the command in-process and returns its exit code and stderr.
func runCLI(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(args, strings.NewReader(""), &stdout, &stderr)
	return code, stderr.String()
}

// TestFlagValueErrorsSayWhatIsWanted: a flag value that does not parse is
// named with its flag and what the flag wants, in words, as one usage line
// (exit 2) pointing at the command's help; pflag's text quoted Go's parser
// (`invalid argument "abc" for "--cluster-port" flag: strconv.ParseInt:
// parsing "abc": invalid syntax`; an operator's trial).
func TestFlagValueErrorsSayWhatIsWanted(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"node", "--name", "a", "--config", "x.json", "--cluster-port", "abc"},
			`exo-actors: --cluster-port "abc" is not a whole number: give one in digits (see 'exo-actors node --help')`},
		{[]string{"demo", "--runners", "abc"},
			`exo-actors: --runners "abc" is not a whole number: give one in digits, e.g. --runners 3, its default (see 'exo-actors demo --help')`},
		{[]string{"demo", "--runners", "99999999999999999999"},
			`exo-actors: --runners "99999999999999999999" is out of range for a whole number, e.g. --runners 3, its default (see 'exo-actors demo --help')`},
		{[]string{"demo", "--nodes", "3", "--seed", "x1"},
			`exo-actors: --seed "x1" is not a whole number: give one in digits, e.g. --seed 1, its default (see 'exo-actors demo --help')`},
		{[]string{"cluster", "status", "--cluster", "c", "--timeout", "abc"},
			`exo-actors: --timeout "abc" is not a duration: want a number with a unit (ns, us, ms, s, m or h), e.g. --timeout 5s, its default (see 'exo-actors cluster status --help')`},
		{[]string{"cluster", "status", "--cluster", "c", "--timeout", "5"},
			`exo-actors: --timeout "5" has no unit: want a number with a unit (ns, us, ms, s, m or h), e.g. --timeout 5s (see 'exo-actors cluster status --help')`},
		{[]string{"remote", "status", "--node", "127.0.0.1:1", "--timeout", "1x"},
			`exo-actors: --timeout "1x" is not a duration: want a number with a unit (ns, us, ms, s, m or h), e.g. --timeout 500ms (see 'exo-actors remote status --help')`},
		{[]string{"chaos", "--rate", "fast"},
			`exo-actors: --rate "fast" is not a number: give digits, with a decimal point if need be, e.g. --rate 6, its default (see 'exo-actors chaos --help')`},
		{[]string{"node", "--name", "a", "--config", "x.json", "--allow-faults=maybe"},
			`exo-actors: --allow-faults "maybe" is not true or false: give --allow-faults alone for true, or --allow-faults=true or --allow-faults=false (see 'exo-actors node --help')`},
	} {
		code, stderr := runCLI(t, c.args...)
		if code != ExitUsage || stderr != c.want+"\n" {
			t.Errorf("%s: exit %d, stderr %q\nwant exit %d and %q", strings.Join(c.args, " "), code, stderr, ExitUsage, c.want)
		}
		if strings.Contains(stderr, "strconv") || strings.Contains(stderr, "time: ") {
			t.Errorf("%s: stderr quotes Go's parser: %q", strings.Join(c.args, " "), stderr)
		}
	}
}

// TestUnknownFlagSuggestsTheNearest: a mistyped flag is named with the
// nearest one the command has, inherited ones included (a new user's trial
// typed --nodes); a flag with nothing near gets no guess.
func TestUnknownFlagSuggestsTheNearest(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"remote", "status", "--nodes", "127.0.0.1:1"}, "exo-actors: unknown flag: --nodes (did you mean --node?) (see 'exo-actors remote status --help')"},
		{[]string{"remote", "--node", "127.0.0.1:1", "run", "--kindd", "echo"}, "unknown flag: --kindd (did you mean --kind?)"},
		{[]string{"status", "--adr=x"}, "unknown flag: --adr (did you mean --addr?)"},
		{[]string{"node", "--zzzzzz"}, "unknown flag: --zzzzzz (see 'exo-actors node --help')"},
		// --task begins --task-kind and --tasks: the nearer one, not the
		// first in the list (a newcomer's trial was told --task-kind).
		{[]string{"remote", "run", "--node", "127.0.0.1:1", "--kind", "echo", "--task", "3"}, "unknown flag: --task (did you mean --tasks?)"},
		{[]string{"remote", "status", "--nod", "127.0.0.1:1"}, "unknown flag: --nod (did you mean --node?)"},
		{[]string{"node", "--tls-require-client-certs"}, "unknown flag: --tls-require-client-certs (did you mean --tls-require-client-cert?)"},
		{[]string{"cluster", "status", "--etcd-endpoint", "127.0.0.1:1"}, "unknown flag: --etcd-endpoint (did you mean --etcd-endpoints?)"},
	} {
		code, stderr := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestEmptyListEntry: an empty entry in a comma-separated list of
// addresses is named with its flag and position, exit 2, for every such
// flag: --node of each remote command, --cluster-peers and
// --etcd-endpoints (a newcomer's trailing comma got `node address "":
// want the node's HOST:PORT`). An empty value is an empty entry too, and
// a value that looks like a flag is refused (pflag's string slice dropped
// `--node ""`: with another --node the command ran on that one alone; and
// took `--node --tasks` as the address "--tasks").
func TestEmptyListEntry(t *testing.T) {
	const hint = " is empty (a comma at the start or end of the list, two in a row, or an empty value?): give each address once, comma-separated, e.g. "
	const flagLike = `looks like a flag, not an address: did a variable before it expand to nothing? give an address, e.g. `
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"remote", "status", "--node", "127.0.0.1:1,"}, `exo-actors: --node "127.0.0.1:1,": entry 2 of 2` + hint + "--node 127.0.0.1:7101,127.0.0.1:7102 (see 'exo-actors remote status --help')\n"},
		{[]string{"remote", "--node", ",127.0.0.1:1", "shutdown"}, `--node ",127.0.0.1:1": entry 1 of 2` + hint},
		{[]string{"remote", "run", "--node", "127.0.0.1:1,,127.0.0.1:2", "--kind", "echo"}, `--node "127.0.0.1:1,,127.0.0.1:2": entry 2 of 3` + hint},
		{[]string{"remote", "stop", "--node", "127.0.0.1:1", "--node", "127.0.0.1:2,", "--kind", "echo"}, `--node "127.0.0.1:1,127.0.0.1:2,": entry 3 of 3` + hint},
		{[]string{"cluster", "status", "--cluster", "x", "--cluster-peers", "127.0.0.1:1,"}, `--cluster-peers "127.0.0.1:1,": entry 2 of 2` + hint + "--cluster-peers 127.0.0.1:7201,127.0.0.1:7202"},
		{[]string{"cluster", "status", "--cluster", "x", "--cluster-provider", "etcd", "--etcd-endpoints", "127.0.0.1:1,"}, `--etcd-endpoints "127.0.0.1:1,": entry 2 of 2` + hint},
		{[]string{"cluster", "shutdown", "--cluster", "x", "--cluster-peers", ",127.0.0.1:1"}, `--cluster-peers ",127.0.0.1:1": entry 1 of 2` + hint},
		{[]string{"remote", "status", "--node", ""}, `exo-actors: --node "" is empty (a variable that expanded to nothing?): give an address, e.g. --node 127.0.0.1:7101 (see 'exo-actors remote status --help')` + "\n"},
		{[]string{"remote", "status", "--node", "127.0.0.1:1", "--node", ""}, `--node "127.0.0.1:1,": entry 2 of 2` + hint},
		{[]string{"cluster", "status", "--cluster", "x", "--cluster-peers", ""}, `--cluster-peers "" is empty (a variable that expanded to nothing?): give an address, e.g. --cluster-peers 127.0.0.1:7201`},
		{[]string{"remote", "run", "--node", "--kind", "echo"}, `--node "--kind": ` + flagLike + "127.0.0.1:7101"},
		{[]string{"cluster", "status", "--cluster", "x", "--cluster-provider", "etcd", "--etcd-endpoints", "-v"}, `--etcd-endpoints "-v": ` + flagLike + "127.0.0.1:2379"},
	} {
		code, stderr := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}

// TestClosest: the nearest name by edit distance; of the names the typo
// begins, the shortest; a prefix wins a tie with a mere near spelling; no
// guess when nothing is within 2 edits or a prefix.
func TestClosest(t *testing.T) {
	for _, tc := range []struct {
		typo  string
		names []string
		want  string
	}{
		{"task", []string{"node", "task-kind", "tasks", "tokens"}, "tasks"},
		{"task", []string{"tasks", "task-kind"}, "tasks"},
		{"tas", []string{"task-kind", "tasks-total", "tasks"}, "tasks"},
		{"nod", []string{"kind", "node", "node-timeout"}, "node"},
		{"nodes", []string{"node", "node-timeout"}, "node"},
		{"stauts", []string{"run", "shutdown", "status", "stop"}, "status"},
		{"tls-require-client-certs", []string{"tls-ca", "tls-require-client-cert"}, "tls-require-client-cert"},
		{"etcd-endpoint", []string{"etcd-endpoints", "etcd-prefix"}, "etcd-endpoints"},
		{"clster", []string{"chaos", "cluster", "demo", "node"}, "cluster"},
		{"drain", []string{"signaling", "draining", "closing"}, "draining"},
		{"kindd", []string{"kind", "kinds-file"}, "kind"},
		{"mask", []string{"task-kind", "tasks", "mast"}, "mast"},
		{"zzzzzz", []string{"node", "tasks"}, ""},
	} {
		if got := closest(tc.typo, tc.names); got != tc.want {
			t.Errorf("closest(%q, %q) = %q, want %q", tc.typo, tc.names, got, tc.want)
		}
	}
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
	stderr := nodeFailsToStart(t, "--listen", ln.Addr().String())
	want := "exo-actors: node node-x: --listen " + ln.Addr().String() + ": the address is in use (another node or process listens there: a node you stopped holds its ports until it exits, after its shutdown's phases); pick another port with --listen, or stop that process\n"
	if !strings.HasSuffix(stderr.String(), want) {
		t.Fatalf("stderr %q: want it to end with %q", stderr.String(), want)
	}
}

// TestNodeClusterPortInUse: a node whose --cluster-port is taken names the
// flag and says what to do, as for --listen (it ended with the bind error
// and "(another member or an old one still holds it)"; an operator's
// trial), exit 1.
func TestNodeClusterPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	stderr := nodeFailsToStart(t, "--listen", "127.0.0.1:0", "--cluster", "c", "--cluster-port", port, "--cluster-peers", ln.Addr().String())
	want := "exo-actors: node node-x: join cluster c: --cluster-port " + port + ": the address " + ln.Addr().String() +
		" is in use (another member, an old one still stopping, or another process listens there); pick another port with --cluster-port (and name it in every member's --cluster-peers), or stop that process\n"
	if !strings.HasSuffix(stderr.String(), want) {
		t.Fatalf("stderr %q: want it to end with %q", stderr.String(), want)
	}
}

// TestListenAddrNotOfThisHost: a --listen, --http or --ui address no
// interface of this host has names the flag, says so and what to listen on
// (it was "start remote: failed to listen: … bind: cannot assign requested
// address"; an operator's trial), exit 1. The node logs no "listening on …
// without TLS" warning for a listen that failed. Each bind fails at once:
// no packet leaves this host.
func TestListenAddrNotOfThisHost(t *testing.T) {
	ip := testutil.NotHostIP(t)
	listen, httpAddr, uiAddr := ip+":27150", ip+":27151", ip+":27152"
	conf := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	fix := func(flag, port string) string {
		return ip + " is not an address of this host (no interface has it); listen on one of this host's addresses, e.g. " + flag + " 127.0.0.1:" + port + " (loopback, the default host), or one that 'ip addr' lists\n"
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"node", "--name", "nl", "--config", conf, "--listen", listen}, "exo-actors: node nl: --listen " + listen + ": " + fix("--listen", "27150")},
		{[]string{"node", "--name", "a", "--config", conf, "--http", httpAddr, "--http-allow-remote"}, "exo-actors: node a: --http " + httpAddr + ": " + fix("--http", "27151")},
		{[]string{"node", "--name", "a", "--config", conf, "--listen", "127.0.0.1:0", "--ui", uiAddr, "--ui-allow-remote"}, "exo-actors: node a: --ui: " + uiAddr + ": " + fix("--ui", "27152")},
		{[]string{"demo", "--live", "off", "--http", httpAddr, "--http-allow-remote"}, "exo-actors: --http " + httpAddr + ": " + fix("--http", "27151")},
		{[]string{"demo", "--live", "off", "--ui", uiAddr, "--ui-allow-remote"}, "exo-actors: --ui: " + uiAddr + ": " + fix("--ui", "27152")},
	} {
		var stdout, stderrB bytes.Buffer
		code := Main(c.args, strings.NewReader(""), &stdout, &stderrB)
		stderr := stderrB.String()
		if code != ExitFailure || !strings.HasSuffix(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d ending with %q", c.args, code, stderr, ExitFailure, c.want)
		}
		if strings.Contains(stderr, "without TLS") || strings.Contains(stdout.String(), "listening on") {
			t.Errorf("%v: a listen that failed was announced:\nstdout %s\nstderr %s", c.args, stdout.String(), stderr)
		}
	}
}

// TestRemoteStatusCountsLiveRunners: a runner that was stopped is still
// listed by the node (retention), so `remote status` says how many of the
// listed runners are live: "runners 1 (0 live)", not a bare "runners 1".
func TestRemoteStatusCountsLiveRunners(t *testing.T) {
	bin := exoBinary(t)
	cmd, out, _ := startNodeProcess(t, "st-a")
	listen := listenAddr(t, out)

	status := func() string {
		t.Helper()
		c := exec.Command(bin, "remote", "status", "--node", listen, "--timeout", "60s", "--log-level", "warn")
		out, err := testutil.CombinedOutputChild(c)
		if err != nil {
			t.Fatalf("remote status: %v\n%s", err, out)
		}
		return string(out)
	}
	if got := status(); !strings.Contains(got, "runners 0 (0 live)") {
		t.Fatalf("fresh node: %q, want runners 0 (0 live)", got)
	}
	// remote run spawns a runner, runs a task and stops the runner.
	run := exec.Command(bin, "remote", "--node", listen, "--timeout", "60s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1", "--log-level", "warn")
	if out, err := testutil.CombinedOutputChild(run); err != nil || !strings.Contains(string(out), "stopped echo-") {
		t.Fatalf("remote run: %v\n%s", err, out)
	}
	if got := status(); !strings.Contains(got, "runners 1 (0 live)") {
		t.Fatalf("after a stopped runner: %q, want runners 1 (0 live)", got)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("node after SIGTERM: %v", err)
	}
}

// TestRemoteRunSaysGoodbye: a client that closes says goodbye and waits
// for the node's acknowledgement before it lets its endpoint go. Before,
// the goodbye could still be queued when `remote run` exited, and every
// clean run ended on the node as a lost client ("session ended: client its
// endpoint … terminated … lost=true"), which cancel_tasks_on_client_loss
// acts on.
func TestRemoteRunSaysGoodbye(t *testing.T) {
	bin := exoBinary(t)
	// logs is written by exec's copier; read after Wait.
	cmd, out, logs := startNodeProcess(t, "bye-a", "--log-level", "info", "--log-format", "json")
	listen := listenAddr(t, out)
	for range 3 {
		run := exec.Command(bin, "remote", "--node", listen, "--timeout", "60s", "run", "--kind", "echo", "--tasks", "1", "--tokens", "1", "--log-level", "warn")
		if b, err := testutil.CombinedOutputChild(run); err != nil {
			t.Fatalf("remote run: %v\n%s", err, b)
		}
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		t.Errorf("node after SIGTERM: %v", err)
	}
	bye, lost := 0, 0
	for _, line := range strings.Split(logs.String(), "\n") {
		if !strings.Contains(line, "gateway: session ended") {
			continue
		}
		switch {
		case strings.Contains(line, `"lost":true`):
			lost++
			t.Logf("lost: %s", line)
		case strings.Contains(line, "the client said goodbye"):
			bye++
		}
	}
	if bye != 3 || lost != 0 {
		t.Errorf("sessions ended by a goodbye %d, lost %d; want 3 and 0", bye, lost)
	}
}

// TestRemoteClientCertChecked: the client's own certificate is checked
// before any dial (the node dials back to the client's listener, so the
// certificate needs the IP SAN and serverAuth as well as clientAuth): one
// line naming what is missing and the openssl extensions, exit 2. Before,
// a certificate without the IP SAN waited 2 minutes for the hello.
func TestRemoteClientCertChecked(t *testing.T) {
	dir := t.TempDir()
	nosan, err := testutil.WritePKI(dir, "nosan", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth})
	if err != nil {
		t.Fatal(err)
	}
	srvOnly, err := testutil.WritePKI(dir, "srvonly", []net.IP{net.ParseIP("127.0.0.1")}, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p    testutil.PKI
		want string
	}{
		{nosan, "it does not name IP 127.0.0.1 (the address this client listens on) in its subjectAltName"},
		{srvOnly, "its extended key usages lack clientAuth"},
	} {
		code, stderr := runCLI(t, "remote", "status", "--node", "127.0.0.1:1,127.0.0.1:2", "--tls-ca", tc.p.CA, "--tls-cert", tc.p.Cert, "--tls-key", tc.p.Key)
		for _, w := range []string{"exo-actors: this client's certificate " + tc.p.Cert + " (TLSFiles.CertFile; --tls-cert on the command line): " + tc.want,
			"subjectAltName=IP:127.0.0.1 and extendedKeyUsage=serverAuth,clientAuth"} {
			if !strings.Contains(stderr, w) {
				t.Errorf("stderr %q: want %q", stderr, w)
			}
		}
		if code != ExitUsage || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "cannot connect") {
			t.Errorf("exit %d, stderr %q: want exit 2, one line, no dial", code, stderr)
		}
	}
}

// TestNodeCertChecked: a node whose own certificate its peers would refuse
// (no IP SAN for its --listen host, or lacking clientAuth) is refused
// before it starts, as a client's own certificate is: exit 2, one line,
// the fix and where it is described. Before, the node exited 1 with
// "exo-actors: node n: this node's certificate …" and no pointer to the
// docs, where the client's check exits 2 with "(see docs/remote.md, …)".
func TestNodeCertChecked(t *testing.T) {
	dir := t.TempDir()
	nosan, err := testutil.WritePKI(dir, "nosan", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth})
	if err != nil {
		t.Fatal(err)
	}
	srvOnly, err := testutil.WritePKI(dir, "srvonly", []net.IP{net.ParseIP("127.0.0.1")}, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "node.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p            testutil.PKI
		listen, want string
		advice       string
	}{
		{nosan, "127.0.0.1:0", "it does not name IP 127.0.0.1 (the address this node listens on) in its subjectAltName", "subjectAltName=IP:127.0.0.1 and extendedKeyUsage=serverAuth,clientAuth"},
		{srvOnly, "127.0.0.1:0", "its extended key usages lack clientAuth", "subjectAltName=IP:127.0.0.1 and extendedKeyUsage=serverAuth,clientAuth"},
		// Every address: no SAN to name; the advice says what it must be.
		{srvOnly, "0.0.0.0:0", "its extended key usages lack clientAuth", `a subjectAltName naming the address its peers reach it at, e.g. subjectAltName=IP:192.0.2.10 (the listen address "0.0.0.0:0" names no host`},
	} {
		code, stderr := runCLI(t, "node", "--name", "n", "--listen", tc.listen, "--config", conf, "--tls-ca", tc.p.CA, "--tls-cert", tc.p.Cert, "--tls-key", tc.p.Key)
		for _, w := range []string{"exo-actors: node n: this node's certificate " + tc.p.Cert + " (ServeConfig.TLS.CertFile; --tls-cert on the command line): " + tc.want,
			tc.advice, `(see docs/remote.md, "The same with mutual TLS")`} {
			if !strings.Contains(stderr, w) {
				t.Errorf("--listen %s: stderr %q: want %q", tc.listen, stderr, w)
			}
		}
		if code != ExitUsage || strings.Count(stderr, "\n") != 1 || strings.Contains(stderr, "IP:0.0.0.0") {
			t.Errorf("--listen %s: exit %d, stderr %q: want exit 2, one line", tc.listen, code, stderr)
		}
	}
}

// nodeFailsToStart runs `exo-actors node --name node-x` with a config of
// one built-in kind and args, wants it to exit 1, and returns its stderr.
func nodeFailsToStart(t *testing.T, args ...string) *bytes.Buffer {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(conf, []byte(`{"kinds": {"echo": {"builtin": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exoBinary(t), append([]string{"node", "--name", "node-x", "--config", conf}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := testutil.RunChild(cmd)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitFailure {
		t.Fatalf("exit: %v, want code %d; stderr %s", err, ExitFailure, stderr.String())
	}
	return &stderr
}

// TestEmptyOffFlag: a flag whose absence turns a feature off, given empty
// (a variable that expanded to nothing), is a usage error naming it; before,
// the command ran without the feature, silently: `--tls-ca ""` a node in
// plaintext, `--http ""` a node without its /metrics (an SRE's trial).
func TestEmptyOffFlag(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "node.json")
	if err := os.WriteFile(cfg, []byte(`{"kinds": {"echo": {"builtin": true}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	node := []string{"node", "--name", "n", "--listen", "127.0.0.1:0", "--config", cfg}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{append(node, "--http", ""), `exo-actors: --http "" is empty (a variable that expanded to nothing?): give an address, e.g. --http 127.0.0.1:9464, or leave the flag out (see 'exo-actors node --help')` + "\n"},
		{append(node, "--ui", " "), `--ui " " is empty`},
		{append(node, "--alert-webhook", ""), `--alert-webhook "" is empty`},
		{append(node, "--tls-ca", ""), `--tls-ca "" is empty (a variable that expanded to nothing?): give a PEM file, e.g. --tls-ca ca.pem, or leave the flag out`},
		{append(node, "--tls-cert", ""), `--tls-cert "" is empty`},
		{append(node, "--tls-key", ""), `--tls-key "" is empty`},
		{[]string{"remote", "status", "--node", "127.0.0.1:1", "--tls-ca", ""}, `--tls-ca "" is empty`},
		{[]string{"demo", "--http", ""}, `--http "" is empty`},
		{[]string{"cluster-member", "--cluster", "c", "--gateway-address", ""}, `--gateway-address "" is empty`},
		{[]string{"bench", "--cpuprofile", ""}, `--cpuprofile "" is empty`},
	} {
		code, stderr := runCLI(t, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args[:2], code, stderr, tc.want)
		}
	}
}

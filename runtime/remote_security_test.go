package runtime_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// pki writes a CA and a certificate it signs (IP SAN 127.0.0.1, server and
// client auth) to dir, and returns the files.
type pki struct{ ca, cert, key string }

func newPKI(t *testing.T, name string) pki {
	t.Helper()
	return newPKIValid(t, name, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
}

// newPKIValid is newPKI with the certificate (not the CA) valid from
// notBefore to notAfter.
func newPKIValid(t *testing.T, name string, notBefore, notAfter time.Time) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(48 * time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name},
		NotBefore: notBefore, NotAfter: notAfter,
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	p := pki{ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
	write := func(path, typ string, b []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(p.ca, "CERTIFICATE", caDER)
	write(p.cert, "CERTIFICATE", der)
	write(p.key, "EC PRIVATE KEY", kb)
	return p
}

// TestRemoteTLS: a node with mutual TLS serves a client with a certificate
// from its CA, and refuses, within the dial, a client that trusts another
// CA and one without a client certificate.
func TestRemoteTLS(t *testing.T) {
	good, other := newPKI(t, "good"), newPKI(t, "other")
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, "")
	node := startNode(t, "tls-node", cfg, "--tls-ca", good.ca, "--tls-cert", good.cert, "--tls-key", good.key, "--tls-require-client-cert")
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"same CA, client certificate", []string{"EXO_CA=" + good.ca, "EXO_CERT=" + good.cert, "EXO_KEY=" + good.key}, "ok node=tls-node"},
		{"wrong CA", []string{"EXO_CA=" + other.ca, "EXO_CERT=" + other.cert, "EXO_KEY=" + other.key}, "this client does not trust node"},
		{"no client certificate", []string{"EXO_CA=" + good.ca, "EXO_CERT=" + good.cert, "EXO_KEY=" + good.key, "EXO_NOCERT=1"}, "refused this client's certificate"},
		// The node refuses it (EXO_RAWTLS: Dial does not check a caller's
		// own TLS configs) …
		{"client certificate from another CA", []string{"EXO_CA=" + good.ca, "EXO_CERT=" + other.cert, "EXO_KEY=" + other.key, "EXO_RAWTLS=1"}, "refused this client's certificate"},
		// … and Dial with TLSFiles refuses it first, before any dial,
		// naming the CA (a node without mutual TLS would not refuse it:
		// it could not connect back, and the client waited out its dial
		// timeout with "did not answer the hello"; trial of the tenth
		// session).
		{"client certificate from another CA, checked by Dial", []string{"EXO_CA=" + good.ca, "EXO_CERT=" + other.cert, "EXO_KEY=" + other.key},
			"this client's certificate " + other.cert + " (TLSFiles.CertFile; --tls-cert on the command line): it is not signed by the CA given with it (" + good.ca + ")"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := startHelper(t, "dial", append(tc.env, "EXO_ADDR="+node.addr)...)
			got := h.line(t, 30*time.Second)
			t.Logf("client: %s", got)
			if !strings.Contains(got, tc.want) {
				t.Fatalf("client said %q, want %q", got, tc.want)
			}
		})
	}
	// The client's own listener, which the node dials back, refuses a peer
	// without a certificate from the CA and serves one with it. Before, it
	// completed a TLS handshake with anyone (an operator trial: openssl
	// s_client without a certificate, against a client of this mutual-TLS
	// node: "New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256").
	env := []string{"EXO_CA=" + good.ca, "EXO_CERT=" + good.cert, "EXO_KEY=" + good.key, "EXO_ADDR=" + node.addr, "EXO_PROBE_LISTENER=1"}
	if got := startHelper(t, "dial", env...).line(t, 30*time.Second); !strings.HasPrefix(got, "listener refused:") {
		t.Errorf("a stranger without a certificate dialing the client's listener: %q, want it refused", got)
	}
	if got := startHelper(t, "dial", append(env, "EXO_PROBE_CERT=1")...).line(t, 30*time.Second); got != "listener accepted" {
		t.Errorf("a peer with a certificate from the CA dialing the client's listener: %q, want it accepted", got)
	}
	// A plaintext client is refused too (this process's endpoint is plaintext).
	ctx := remoteCtx(t, 30*time.Second)
	if c, err := exo.Dial(ctx, node.addr); err == nil {
		c.Close()
		t.Fatal("a plaintext client was served by a TLS node")
	} else if !strings.Contains(err.Error(), "it uses TLS; dial it with TLS") {
		t.Errorf("plaintext client: %v, want it to say the node uses TLS", err)
	}
}

// TestRemoteRefusals: an unknown kind is refused naming the node's kinds; a
// command from the peer is refused; an unknown runner and a full queue map
// to their sentinels; an oversized task is refused.
func TestRemoteRefusals(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"slow": fmt.Sprintf(echoKind, "50ms"), "echo": fmt.Sprintf(echoKind, "0s")},
		`, "tasks": {"in_flight": 1, "queue": 1}, "max_message": 65536`)
	node := startNode(t, "refusals", cfg)
	ctx := remoteCtx(t, time.Minute)
	c, err := dial(ctx, node.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "llama"})
	if !errors.Is(err, exo.ErrUnknownKind) || !strings.Contains(err.Error(), "echo, slow") {
		t.Errorf("unknown kind: %v, want ErrUnknownKind naming echo, slow", err)
	}
	t.Logf("unknown kind: %v", err)
	_, err = c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo", Command: "/bin/sh", Args: []string{"-c", "touch /tmp/pwned"}})
	if !errors.Is(err, exo.ErrInvalidRequest) || !errors.Is(err, exo.ErrInvalidSpec) {
		t.Errorf("a command from the peer: %v, want ErrInvalidRequest and ErrInvalidSpec (what System gives a spec it cannot run)", err)
	}
	if _, err := c.Submit(ctx, "nope-000000", exo.Task{ID: "x", Kind: "noop"}); !errors.Is(err, exo.ErrUnknownRunner) {
		t.Errorf("unknown runner: %v, want ErrUnknownRunner", err)
	}
	id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "slow"})
	if err != nil {
		t.Fatal(err)
	}
	big := exo.Task{ID: "big", Kind: "noop", Payload: make([]byte, 100_000)}
	if _, err := c.Submit(ctx, id, big); !errors.Is(err, exo.ErrMessageTooLarge) || !errors.Is(err, exo.ErrInvalidTask) {
		t.Errorf("oversized task: %v, want ErrMessageTooLarge and ErrInvalidTask (what a System says of it)", err)
	}
	var full error
	for i := range 5 {
		_, err := c.Submit(ctx, id, exo.Task{ID: fmt.Sprint("q", i), Kind: "text_generation", Params: map[string]string{"max_tokens": "20"}})
		if err != nil {
			full = err
			break
		}
	}
	if !errors.Is(full, exo.ErrQueueFull) {
		t.Errorf("a full queue: %v, want ErrQueueFull", full)
	}
	t.Logf("full queue: %v", full)
	if _, err := c.Submit(ctx, id, exo.Task{ID: "q0", Kind: "noop"}); !errors.Is(err, exo.ErrInvalidTask) || !strings.Contains(err.Error(), `of kind "text_generation", not "noop"`) {
		t.Errorf("a known task ID with another kind: %v, want ErrInvalidTask naming both kinds", err)
	}
	if _, err := c.Subscribe("nope", exo.Filter{}, exo.SubscribeOptions{}); !errors.Is(err, exo.ErrUnknownTopic) {
		t.Errorf("unknown topic: %v, want ErrUnknownTopic", err)
	}
	if _, err := c.Subscribe(exo.TopicTasks, exo.Filter{Kinds: []string{"chunk"}}, exo.SubscribeOptions{}); !errors.Is(err, exo.ErrInvalidRequest) ||
		!strings.Contains(err.Error(), `filter kind "chunk": no event has that kind`) {
		t.Errorf("a kind no event has: %v, want ErrInvalidRequest naming it", err)
	}
	if _, err := c.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{Buffer: -1}); !errors.Is(err, exo.ErrInvalidRequest) {
		t.Errorf("a negative buffer: %v, want ErrInvalidRequest", err)
	}
	// Every request is checked against the message limit, not a task's
	// payload alone: a runner ID of 10 MB went out and broke the
	// connection (every task of the process ended as node lost).
	huge := strings.Repeat("x", 10<<20)
	if _, err := c.StopRunner(ctx, huge); !errors.Is(err, exo.ErrMessageTooLarge) || !strings.Contains(err.Error(), "the StopRunner request") {
		t.Errorf("StopRunner of a 10 MB ID: %v, want ErrMessageTooLarge naming the request", err)
	}
	if _, err := c.Cancel(ctx, id, huge); !errors.Is(err, exo.ErrMessageTooLarge) {
		t.Errorf("Cancel of a 10 MB task ID: %v, want ErrMessageTooLarge", err)
	}
	if _, err := c.Subscribe(huge, exo.Filter{}, exo.SubscribeOptions{}); !errors.Is(err, exo.ErrMessageTooLarge) {
		t.Errorf("Subscribe to a 10 MB topic: %v, want ErrMessageTooLarge", err)
	}
	// Within this node's limit (64 KiB) each, at once: the node's
	// answers, which quote the ID, are cut to 32 KiB.
	var wg sync.WaitGroup
	stopErrs := make([]error, 4)
	for i := range stopErrs {
		wg.Add(1)
		go func() { // owner: wg
			defer wg.Done()
			_, stopErrs[i] = c.StopRunner(ctx, strings.Repeat(fmt.Sprint(i), 60<<10))
		}()
	}
	wg.Wait()
	for i, err := range stopErrs {
		if err == nil || errors.Is(err, exo.ErrNodeLost) || len(err.Error()) > 40<<10 {
			t.Errorf("StopRunner %d of a 60 KiB ID: %d bytes of error (%.200v); want a refusal of at most 40 KiB, the connection kept", i, len(fmt.Sprint(err)), err)
		}
	}
	if c.Err() != nil {
		t.Errorf("the client after refusals: %v", c.Err())
	}
	if _, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "Bad Kind!"}); !errors.Is(err, exo.ErrInvalidSpec) || !strings.Contains(err.Error(), `kind "Bad Kind!": want 1-40 lowercase letters`) {
		t.Errorf("a kind no spec may have: %v, want ErrInvalidSpec naming it, as a System says it", err)
	}
	// After Close, every call says so whatever its input (a trial got
	// ErrInvalidSpec and ErrMessageTooLarge from a closed client).
	c.Close()
	if _, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: "echo", Command: "/bin/true"}); !errors.Is(err, exo.ErrClientClosed) {
		t.Errorf("SpawnRunner with a Command after Close: %v, want ErrClientClosed", err)
	}
	if _, err := c.Submit(ctx, id, big); !errors.Is(err, exo.ErrClientClosed) {
		t.Errorf("Submit of an oversized task after Close: %v, want ErrClientClosed", err)
	}
	if _, err := c.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{Buffer: -1}); !errors.Is(err, exo.ErrClientClosed) {
		t.Errorf("Subscribe with a negative buffer after Close: %v, want ErrClientClosed", err)
	}
}

// TestRemoteClientRestart: a client process that subscribed is killed and
// started again; the node drops the dead one's subscriber, so it holds
// one subscription, not two.
//
// The dead client is found by its endpoint going away (milliseconds), not
// by a missed heartbeat: the heartbeat bounds (the node's session_timeout,
// 2 s by default, and the clients' lostAfter, 1.5 s) are raised to 30 s, so a
// loaded machine that starves the node or a client process for a couple of
// seconds cannot end a live session or client and change the counts this
// test waits for. The heartbeat bounds have tests of their own
// (TestChaosSeed22DroppedSessionEndsClient, the remote loss tests).
func TestRemoteClientRestart(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, `, "session_timeout": "30s"`)
	node := startNode(t, "restart", cfg)
	ctx := remoteCtx(t, time.Minute)
	c, err := exo.Dial(ctx, node.addr, exo.WithHeartbeat(250*time.Millisecond, 30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	first := startHelper(t, "subscribe", "EXO_ADDR="+node.addr)
	if l := first.line(t, 30*time.Second); l != "subscribed" {
		t.Fatalf("first client: %q", l)
	}
	waitStatus(t, ctx, c, "the first client's subscription", func(s exo.NodeStatus) bool { return s.Subscriptions == 1 && s.Sessions == 2 })
	first.kill(t)
	killed := time.Now()
	second := startHelper(t, "subscribe", "EXO_ADDR="+node.addr)
	if l := second.line(t, 30*time.Second); l != "subscribed" {
		t.Fatalf("restarted client: %q", l)
	}
	waitStatus(t, ctx, c, "only the restarted client's subscription", func(s exo.NodeStatus) bool { return s.Subscriptions == 1 && s.Sessions == 2 })
	t.Logf("the dead client's session and subscription were dropped within %s", time.Since(killed).Round(time.Millisecond))
}

// waitStatus polls the node's status until ok: the node announces no
// event when a session ends, so this is a bounded poll.
func waitStatus(t *testing.T, ctx context.Context, c *exo.Client, what string, ok func(exo.NodeStatus) bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := c.NodeStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ok(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: node status %+v", what, st)
		}
		<-tick.C
	}
}

// TestRemoteClientLossCancelsTasks: with cancel_tasks_on_client_loss, the
// tasks of a client process that dies are cancelled on the node.
func TestRemoteClientLossCancelsTasks(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"slow": fmt.Sprintf(echoKind, "20ms")}, `, "cancel_tasks_on_client_loss": true`)
	node := startNode(t, "orphans", cfg)
	ctx := remoteCtx(t, time.Minute)
	c, err := dial(ctx, node.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sub, err := c.Subscribe(exo.TopicTasks, exo.Filter{TaskID: "orphan", Kinds: []string{"task_status"}}, exo.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	h := startHelper(t, "submit", "EXO_ADDR="+node.addr)
	if l := h.line(t, 30*time.Second); l != "submitted" {
		t.Fatalf("client: %q", l)
	}
	h.kill(t)
	killed := time.Now()
	for {
		ev, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p, ok := ev.Payload.(exo.TaskStatusChanged)
		if !ok {
			continue
		}
		if p.Status == exo.TaskCancelled {
			t.Logf("the dead client's task was cancelled %s after the kill: %s", time.Since(killed).Round(time.Millisecond), p.Reason)
			return
		}
		if p.Status == exo.TaskComplete || p.Status == exo.TaskFailed {
			t.Fatalf("the dead client's task ended %s: %s", p.Status, p.Reason)
		}
	}
}

// TestRemoteClientRestartOnTheSameAddress: a client killed while connected
// and started again on the same listen address (WithClientListen with a
// fixed port, or a port-0 listener the kernel happens to hand out again)
// is welcomed. Before, the node's endpoint writer for that address was
// still failing its connect to the dead client and dropped the welcome
// (and the gateway's watch of the new client) as dead letters: the new
// client waited out its dial, "did not answer the hello within the dial
// timeout", 8 runs of 8 by hand. TestRemoteStop failed so in a clean-clone
// CI when a `remote run` it killed and a later client got the same port.
// TestRemoteClientActorIDsDifferAcrossProcesses: two client processes
// started one after the other on the same address have session actors of
// other IDs, so the node never takes the second for the first (it keys
// sessions by that PID). Before, both were protoactor's "client$N" with
// the same N: the second's hello was taken for the first's hello again (a
// goodbye, its tasks kept under cancel_tasks_on_client_loss).
func TestRemoteClientActorIDsDifferAcrossProcesses(t *testing.T) {
	node := startNode(t, "ids", writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, ""))
	listen := "127.0.0.1:" + strconv.Itoa(testutil.ReservePorts(t, 1)[0])
	var ids []string
	for range 2 {
		h := startHelper(t, "whoami", "EXO_ADDR="+node.addr, "EXO_LISTEN="+listen)
		l := h.line(t, 30*time.Second)
		id, ok := strings.CutPrefix(l, "id ")
		if !ok || !strings.HasPrefix(id, "client-") {
			t.Fatalf("helper: %q, want \"id client-…\"", l)
		}
		h.wait(t)
		ids = append(ids, id)
	}
	if ids[0] == ids[1] {
		t.Errorf("two client processes on %s had the same session actor ID %s", listen, ids[0])
	}
}

func TestRemoteClientRestartOnTheSameAddress(t *testing.T) {
	cfg := writeConfig(t, map[string]string{"echo": fmt.Sprintf(echoKind, "0s")}, `, "session_timeout": "30s"`)
	node := startNode(t, "same-addr", cfg)
	listen := "127.0.0.1:" + strconv.Itoa(testutil.ReservePorts(t, 1)[0])
	first := startHelper(t, "subscribe", "EXO_ADDR="+node.addr, "EXO_LISTEN="+listen)
	if l := first.line(t, 30*time.Second); l != "subscribed" {
		t.Fatalf("first client: %q", l)
	}
	first.kill(t)
	second := startHelper(t, "subscribe", "EXO_ADDR="+node.addr, "EXO_LISTEN="+listen)
	if l := second.line(t, 30*time.Second); l != "subscribed" {
		t.Fatalf("the client started again on %s: %q", listen, l)
	}
}

// TestClosedClientsLeaveNoWatch: protoactor keeps an actor's remote watches
// when it stops, so each Client closed in a process left one entry in that
// process's endpoint watcher of the node's address, for as long as the
// node stayed up (an audit: 40 Dial+Close, 40 entries). A closed Client
// unwatches the gateway now; the count is read in a client process of its
// own (one Remote per process, and its logger is the first Dial's) from
// protoactor's line at the end of the node's endpoint.
func TestClosedClientsLeaveNoWatch(t *testing.T) {
	node := startNode(t, "watches", writeConfig(t, map[string]string{"echo": `{"builtin": true}`}, ""))
	h := startHelper(t, "dial-close", "EXO_ADDR="+node.addr, "EXO_N=20")
	if l := h.line(t, 60*time.Second); l != "closed" {
		t.Fatalf("helper: %q", l)
	}
	node.kill()
	_ = node.wait(t, 20*time.Second)
	if l := h.line(t, 60*time.Second); l != "watched 0" {
		t.Errorf("after 20 Dial+Close and the node's end, the helper says %q; want \"watched 0\"", l)
	}
	h.wait(t)
}

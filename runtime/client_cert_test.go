package runtime_test

import (
	"context"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestDialChecksOwnCertificate: protoactor remote sends a node's answers
// over a connection the node dials back to the client's own listener, so
// the client's certificate is also a server certificate: it needs an IP
// SAN for the address the client listens on and, when it lists extended
// key usages, both serverAuth and clientAuth. Dial checks it before any
// connection. Before, a certificate without the IP SAN made the dial wait
// 2 minutes for a hello that never came (the cause only in the node's
// log), and one with serverAuth alone was said to be "not signed by the
// CA the node trusts".
func TestDialChecksOwnCertificate(t *testing.T) {
	lo := []net.IP{net.ParseIP("127.0.0.1")}
	both := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	for _, tc := range []struct {
		name string
		ips  []net.IP
		ekus []x509.ExtKeyUsage
		want string // "": accepted (the dial then fails to connect)
	}{
		{"good", lo, both, ""},
		{"no EKU extension", lo, nil, ""},
		{"no IP SAN", nil, both, "does not name IP 127.0.0.1 (the address this client listens on) in its subjectAltName"},
		{"another IP", []net.IP{net.ParseIP("10.1.2.3")}, both, "does not name IP 127.0.0.1"},
		{"serverAuth only", lo, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, "its extended key usages lack clientAuth"},
		{"clientAuth only", lo, []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, "its extended key usages lack serverAuth"},
		{"neither", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, "in its subjectAltName, and its extended key usages lack serverAuth and clientAuth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := testutil.WritePKI(t.TempDir(), "client", tc.ips, tc.ekus)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err = exo.Dial(ctx, "127.0.0.1:1", exo.WithTLS(exo.TLSFiles{CAFile: p.CA, CertFile: p.Cert, KeyFile: p.Key}))
			if err == nil {
				t.Fatal("Dial of 127.0.0.1:1 succeeded")
			}
			msg := err.Error()
			t.Log(msg)
			if tc.want == "" {
				if !strings.Contains(msg, "cannot connect to node 127.0.0.1:1") {
					t.Errorf("a good certificate: %q, want the dial to go on (and fail to connect)", msg)
				}
				return
			}
			for _, w := range []string{"this client's certificate " + p.Cert + " (TLSFiles.CertFile; --tls-cert on the command line)", tc.want,
				"subjectAltName=IP:127.0.0.1", "extendedKeyUsage=serverAuth,clientAuth"} {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q: want %q", msg, w)
				}
			}
			if strings.Contains(msg, "\n") || strings.Contains(msg, "cannot connect") {
				t.Errorf("error %q: want one line, before any connection", msg)
			}
		})
	}
}

// TestHelloTimeoutText: with TLS, a hello with no answer names the likely
// cause (the node could not connect back: the client certificate's SAN or
// usages) and where the reason is (the node's log); without TLS it
// suggests no certificates.
func TestHelloTimeoutText(t *testing.T) {
	msg := exo.HelloTimeout("127.0.0.1:7111", "127.0.0.1:40000", true, context.DeadlineExceeded).Error()
	for _, w := range []string{"node 127.0.0.1:7111 did not answer the hello within the dial timeout", "could not connect back to this client's listener 127.0.0.1:40000",
		"must name IP 127.0.0.1 in its subjectAltName and allow both serverAuth and clientAuth", "the node's log says why"} {
		if !strings.Contains(msg, w) {
			t.Errorf("TLS: %q, want %q", msg, w)
		}
	}
	msg = exo.HelloTimeout("127.0.0.1:7101", "127.0.0.1:40000", false, context.DeadlineExceeded).Error()
	if !strings.Contains(msg, "it may be frozen (e.g. SIGSTOP), overloaded or unreachable") || strings.Contains(msg, "TLS") || strings.Contains(msg, "certificate") {
		t.Errorf("plaintext: %q", msg)
	}
}

// TestServeChecksTheNodeCertificate: a node whose own certificate could
// not serve (no IP SAN for its listen address, or lacking clientAuth,
// which its clients now check when it dials back to them) is refused when
// it starts, with one line naming the file and the fix. Before, it started
// ("listening … (mutual TLS …)") and every client then failed (an operator
// trial: "certificate is not valid for that address", "incompatible key
// usage").
func TestServeChecksTheNodeCertificate(t *testing.T) {
	sys := newSystem(t, config())
	for _, tc := range []struct {
		name string
		ips  []net.IP
		ekus []x509.ExtKeyUsage
		want string
	}{
		{"no IP SAN", nil, nil, "does not name IP 127.0.0.1 (the address this node listens on) in its subjectAltName"},
		{"serverAuth only", []net.IP{net.ParseIP("127.0.0.1")}, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, "its extended key usages lack clientAuth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := testutil.WritePKI(t.TempDir(), "node", tc.ips, tc.ekus)
			if err != nil {
				t.Fatal(err)
			}
			srv, err := sys.Serve(exo.ServeConfig{Name: "n", Listen: "127.0.0.1:0", TLS: exo.TLSFiles{CAFile: p.CA, CertFile: p.Cert, KeyFile: p.Key},
				Kinds: map[string]exo.RemoteKind{"echo": {Spec: exo.RunnerSpec{Kind: "echo", Builtin: true}}}})
			if err == nil {
				srv.Close()
				t.Fatal("Serve started with the certificate")
			}
			for _, w := range []string{"this node's certificate " + p.Cert, tc.want, "subjectAltName=IP:127.0.0.1", "extendedKeyUsage=serverAuth,clientAuth"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q: want %q", err, w)
				}
			}
		})
	}
}

// TestOwnCertDatesAndCA: a certificate that has expired, is not valid
// yet, or was not signed by the CA given with it is refused by the checks
// a client (CheckClientCert, Dial) and a node (CheckNodeCert, Serve) run
// before anything listens or dials, naming what is wrong. Before, a node
// started with an expired certificate and every client failed later, and a
// client's expired certificate read "closed right after the handshake …
// check that the node's CA, certificate and key match" (a new user's
// trial, tenth session).
func TestOwnCertDatesAndCA(t *testing.T) {
	expired := newPKIValid(t, "expired", time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
	future := newPKIValid(t, "future", time.Now().Add(time.Hour), time.Now().Add(2*time.Hour))
	good, other := newPKI(t, "good"), newPKI(t, "other")
	for _, c := range []struct {
		name  string
		files exo.TLSFiles
		want  string
	}{
		{"expired", exo.TLSFiles{CAFile: expired.ca, CertFile: expired.cert, KeyFile: expired.key}, ": it expired on "},
		{"not yet valid", exo.TLSFiles{CAFile: future.ca, CertFile: future.cert, KeyFile: future.key}, ": it is not valid before "},
		{"another CA", exo.TLSFiles{CAFile: good.ca, CertFile: other.cert, KeyFile: other.key}, ": it is not signed by the CA given with it (" + good.ca + ")"},
	} {
		if err := exo.CheckClientCert(c.files); err == nil || !strings.Contains(err.Error(), "this client's certificate "+c.files.CertFile) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: CheckClientCert: %v, want %q", c.name, err, c.want)
		}
		if err := exo.CheckNodeCert(c.files, "127.0.0.1:7101"); err == nil || !strings.Contains(err.Error(), "this node's certificate "+c.files.CertFile) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: CheckNodeCert: %v, want %q", c.name, err, c.want)
		}
	}
	if err := exo.CheckClientCert(exo.TLSFiles{CAFile: good.ca, CertFile: good.cert, KeyFile: good.key}); err != nil {
		t.Errorf("a good certificate: %v", err)
	}
}

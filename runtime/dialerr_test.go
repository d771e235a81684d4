package runtime_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// serveRaw accepts connections on loopback and hands each to handle, on
// goroutines the test waits for; it returns the address.
func serveRaw(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				handle(c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// tlsPeer is a TLS server: it finishes the handshake and reads until the
// client closes (so a refused client certificate is answered with an alert).
func tlsPeer(t *testing.T, cfg *tls.Config) string {
	return serveRaw(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		if tc.Handshake() == nil {
			_, _ = io.Copy(io.Discard, tc)
		}
	})
}

func tlsConfigs(t *testing.T, p pki) (server, client *tls.Config, pool *x509.CertPool) {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(p.cert, p.key)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(p.ca)
	if err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		&tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, pool
}

// TestDialTexts: each way Dial's connection check fails says what was
// wrong, from the client's side, and what to do; none says "node lost" for
// a node never reached, prints a raw <nil>, or suggests TLS to a peer that
// does not speak it.
func TestDialTexts(t *testing.T) {
	good, other := newPKI(t, "good"), newPKI(t, "other")
	goodSrv, goodCli, goodPool := tlsConfigs(t, good)
	_, otherCli, _ := tlsConfigs(t, other)
	mutual := goodSrv.Clone()
	mutual.ClientAuth, mutual.ClientCAs = tls.RequireAndVerifyClientCert, goodPool

	tlsNode := tlsPeer(t, goodSrv)
	mtlsNode := tlsPeer(t, mutual)
	// A plaintext gRPC server answers the preface with a SETTINGS frame.
	plainNode := serveRaw(t, func(c net.Conn) {
		_, _ = c.Write([]byte("\x00\x00\x00\x04\x00\x00\x00\x00\x00"))
		_, _ = io.Copy(io.Discard, c)
	})
	web := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(web.Close)
	webAddr := strings.TrimPrefix(web.URL, "http://")
	nobody := testutil.DeadAddr(t)

	// A client certificate another CA signed, trusting the node's CA.
	strangerCli := goodCli.Clone()
	strangerCli.Certificates = otherCli.Certificates
	noCertCli := &tls.Config{RootCAs: goodPool, MinVersion: tls.VersionTLS12}

	for _, tc := range []struct {
		name   string
		addr   string
		cfg    *tls.Config
		want   []string
		isLost bool
	}{
		{"client certificate from another CA", mtlsNode, strangerCli, []string{"node " + mtlsNode + " refused this client's certificate", "not signed by the CA the node trusts, or none was given", "--tls-cert"}, false},
		{"no client certificate", mtlsNode, noCertCli, []string{"refused this client's certificate"}, false},
		{"TLS client, plaintext node", plainNode, goodCli, []string{"node " + plainNode + " appears to be plaintext", "dial it without TLS"}, false},
		{"client trusts another CA", tlsNode, otherCli, []string{"this client does not trust node " + tlsNode, "TLSFiles.CAFile; --tls-ca"}, false},
		{"plaintext client, TLS node", tlsNode, nil, []string{"node " + tlsNode + " closed the plaintext connection and accepts a TLS handshake: it uses TLS; dial it with TLS"}, false},
		{"plaintext client, HTTP server", webAddr, nil, []string{webAddr + " is an HTTP server, not an exo-actors node", "--node"}, false},
		// With TLS too: not "appears to be plaintext: dial it without TLS"
		// (a new user's trial), since no node is there either way.
		{"TLS client, HTTP server", webAddr, goodCli, []string{webAddr + " is an HTTP server, not an exo-actors node (it answered the TLS handshake with \"HTTP/\")", "--node"}, false},
		{"nothing listening", nobody, nil, []string{"cannot connect to node " + nobody, "is a node running there?", "--node"}, true},
		// With TLS too: not "TLS handshake failed", which sends a user to
		// the certificates when no node runs there.
		{"nothing listening, TLS client", nobody, goodCli, []string{"cannot connect to node " + nobody, "is a node running there?", "--node"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := exo.Probe(ctx, tc.addr, tc.cfg)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			t.Log(msg)
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q: want %q", msg, w)
				}
			}
			for _, bad := range []string{"<nil>", "node lost", "\n", "does it require", "does it use TLS"} {
				if strings.Contains(msg, bad) {
					t.Errorf("error %q has %q", msg, bad)
				}
			}
			if tc.cfg == nil && !strings.Contains(tc.name, "TLS node") && strings.Contains(msg, "TLS") {
				t.Errorf("error %q suggests TLS to a peer that does not speak it", msg)
			}
			if errors.Is(err, exo.ErrNodeLost) != tc.isLost {
				t.Errorf("errors.Is(err, ErrNodeLost) = %v, want %v", !tc.isLost, tc.isLost)
			}
			// A host tells the classes apart without the text (a new
			// user's trial: a refused certificate wrapped no sentinel).
			wantTLS, wantNotNode := !tc.isLost && strings.Contains(tc.name, "TLS") || strings.Contains(tc.name, "certificate") || strings.Contains(tc.name, "CA"),
				strings.Contains(tc.name, "HTTP server")
			if wantNotNode {
				wantTLS = false // the address is wrong, whatever the TLS setup
			}
			if errors.Is(err, exo.ErrTLS) != wantTLS || errors.Is(err, exo.ErrNotANode) != wantNotNode {
				t.Errorf("errors.Is(err, ErrTLS) = %v, errors.Is(err, ErrNotANode) = %v; want %v, %v",
					errors.Is(err, exo.ErrTLS), errors.Is(err, exo.ErrNotANode), wantTLS, wantNotNode)
			}
		})
	}
}

// TestDialTLSFilesMissing: from Go, a partial TLSFiles names its fields.
func TestDialTLSFilesMissing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := exo.Dial(ctx, "127.0.0.1:1", exo.WithTLS(exo.TLSFiles{CAFile: "ca.pem"}))
	want := "TLS needs all three of TLSFiles.CAFile, CertFile and KeyFile, but CertFile and KeyFile are empty; set them, or none of the three for plaintext"
	if err == nil || err.Error() != want || !errors.Is(err, exo.ErrInvalidRequest) {
		t.Fatalf("error %v, want %q", err, want)
	}
}

// TestDialAddressText: a bad node address is named as the node's (dial)
// address, not as a listen address, and wraps ErrInvalidRequest (it wrapped
// nothing: a host could not tell it from a node that is down).
func TestDialAddressText(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for addr, want := range map[string]string{
		"localhost":      `node address "localhost": want the node's HOST:PORT, e.g. 127.0.0.1:7101`,
		"localhost:7101": `node address "localhost:7101": the host must be the IP address the node listens on (its "listening on" line), e.g. 127.0.0.1:7101; a name such as "localhost" is not resolved`,
		"node-a:7102":    `node address "node-a:7102": the host must be the IP address the node listens on (its "listening on" line), e.g. 127.0.0.1:7101; a name such as "node-a" is not resolved`,
		"127.0.0.1:0":    `node address "127.0.0.1:0": port "0" is not 1-65535`,
	} {
		_, err := exo.Dial(ctx, addr)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "listen address") || !errors.Is(err, exo.ErrInvalidRequest) {
			t.Errorf("Dial(%q): %v, want %q wrapping ErrInvalidRequest", addr, err, want)
		}
	}
}

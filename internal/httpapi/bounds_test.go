package httpapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/httpapi"
	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestWriteTimeoutFreesAStuckClient: a client that asks for /metrics and
// never reads held its handler inside Write, and its connection, for as
// long as it stayed (no write timeout; a review found a handler still
// writing after 65 s, and about 128 such clients lock /healthz out). With
// HTTPConfig.WriteTimeout the server gives the connection up. /metrics is
// the endpoint of a fresh node whose answer (about 23 KB) passes the
// buffers of a 4 KiB send buffer and a deaf client (about 14 KB); every
// endpoint has the same timeout, the server's.
func TestWriteTimeoutFreesAStuckClient(t *testing.T) {
	const writeTimeout = 100 * time.Millisecond
	_, watch := serveForTest(t, actors.HTTPConfig{WriteTimeout: writeTimeout})
	watch.AskAndNeverRead(t, "/metrics", writeTimeout)
}

// serveForTest serves a new node's endpoints on a ConnWatch listener on
// 127.0.0.1 until the test ends.
func serveForTest(t *testing.T, cfg actors.HTTPConfig) (*httpapi.Server, *testutil.ConnWatch) {
	t.Helper()
	n := startNode(t)
	watch := testutil.WatchConns(t)
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	s := httpapi.ServeOn(n.Node, cfg, logger, watch)
	testutil.ShutdownAtCleanup(t, s.Shutdown) // before the node's: cleanups run last first
	return s, watch
}

// TestHostGuard: /status and /metrics answered any Host header, so a page
// elsewhere could read them through a browser of this host by DNS
// rebinding (pids, error messages, alerts); the web page already refused
// such a Host. On loopback the endpoints answer loopback names only; on
// an address that is not loopback (--http-allow-remote) any Host, as the
// web page with --ui-allow-remote.
func TestHostGuard(t *testing.T) {
	n := startNode(t)
	for _, c := range []struct {
		addr, host string
		code       int
		allow      []string
	}{
		// A reverse proxy on this machine that passes the client's Host
		// on (Caddy's default): answered when named in AllowHosts, in any
		// case, with any port or a trailing dot; no other name with it.
		{"127.0.0.1:9464", "metrics.example.com", 200, []string{"metrics.example.com"}},
		{"127.0.0.1:9464", "Metrics.Example.com.:443", 200, []string{"proxy.example", "metrics.example.com"}},
		{"127.0.0.1:9464", "evil.example", 403, []string{"metrics.example.com"}},
		{"127.0.0.1:9464", "127.0.0.1:9464", 200, []string{"metrics.example.com"}},
		{"127.0.0.1:9464", "127.0.0.1:9464", 200, nil}, // a scrape by IP:port, exo-actors status --addr
		{"127.0.0.1:9464", "localhost:9464", 200, nil},
		{"127.0.0.1:9464", "[::1]:9464", 200, nil},
		{"127.0.0.1:9464", "127.0.0.1", 200, nil},
		{"127.0.0.1:9464", "", 200, nil}, // HTTP/1.0 without Host: no browser
		{"127.0.0.1:9464", "evil.example:9464", 403, nil},
		{"127.0.0.1:9464", "127.0.0.1.evil.example:9464", 403, nil},
		{"127.0.0.1:9464", "10.0.0.1:9464", 403, nil},
		{":9464", "evil.example:9464", 403, nil}, // :PORT listens on 127.0.0.1
		{"localhost:9464", "evil.example:9464", 403, nil},
		{"", "evil.example:9464", 403, nil}, // Handler without an address: as on loopback
		{"0.0.0.0:9464", "evil.example:9464", 200, nil},
		{"0.0.0.0:9464", "node-a.example:9464", 200, nil},
		{"192.0.2.1:9464", "192.0.2.1:9464", 200, nil},
	} {
		h := httpapi.Handler(n.Node, actors.HTTPConfig{Addr: c.addr, NoRunnersNeeded: true, AllowHosts: c.allow})
		for _, path := range []string{"/healthz", "/readyz", "/metrics", "/status"} {
			r := httptest.NewRequest(http.MethodGet, path, nil)
			r.Host = c.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != c.code {
				t.Errorf("listening on %q, GET %s with Host %q: %d, want %d: %.300s", c.addr, path, c.host, w.Code, c.code, w.Body)
				continue
			}
			if c.code == 403 {
				var body struct{ Error string }
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
					t.Errorf("listening on %q, GET %s with Host %q: refused with %q: %v", c.addr, path, c.host, w.Body, err)
				}
				names := "loopback names only"
				if c.allow != nil {
					names = "this machine's own name) and " + strings.Join(c.allow, ", ") + " only"
				}
				for _, says := range []string{fmt.Sprintf("host %q refused", c.host), names, "DNS rebinding",
					"ask for http://127.0.0.1:PORT" + path, "--http-allow-remote", "HTTPConfig.Addr", "HTTPConfig.AllowHosts (--http-allow-host NAME)"} {
					if !strings.Contains(body.Error, says) {
						t.Errorf("listening on %q, GET %s with Host %q refused without %q: %s", c.addr, path, c.host, says, body.Error)
					}
				}
			}
		}
	}
}

// TestHostGuardServed: through a server on loopback, a scrape by IP:port
// and by localhost is answered, a rebound name is refused with the address
// to ask for instead.
func TestHostGuardServed(t *testing.T) {
	s, _ := serveForTest(t, actors.HTTPConfig{Addr: "127.0.0.1:0"})
	_, port, _ := net.SplitHostPort(s.Addr())
	for _, c := range []struct {
		host string
		code int
	}{{s.Addr(), 200}, {"localhost:" + port, 200}, {"rebound.example:" + port, 403}} {
		req, err := http.NewRequest(http.MethodGet, "http://"+s.Addr()+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = c.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != c.code {
			t.Errorf("GET /metrics with Host %q: %d %.200s %v, want %d", c.host, resp.StatusCode, b, err, c.code)
		}
		if c.code == 403 && !strings.Contains(string(b), "ask for http://"+s.Addr()+"/metrics") {
			t.Errorf("GET /metrics with Host %q refused without the address to ask for: %s", c.host, b)
		}
	}
}

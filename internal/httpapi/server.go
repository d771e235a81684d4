package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/httpserve"
)

// requestTimeout bounds what one HTTP request asks of the node.
const requestTimeout = 5 * time.Second

// Handler returns the endpoints of node n (see the package documentation).
func Handler(n *actors.Node, cfg actors.HTTPConfig) http.Handler { return handler(n, cfg, nil) }

// handler is Handler whose Host guard logs its refusals to refusals (nil:
// not logged).
func handler(n *actors.Node, cfg actors.HTTPConfig, refusals *httpserve.RefusalLog) http.Handler {
	want := cfg.ReadyRunners
	if want <= 0 {
		want = 1
	}
	if cfg.NoRunnersNeeded {
		want = 0
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		if err := n.Alive(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"alive": false, "error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"alive": true})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		infos, err := n.Runners(ctx)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "error": err.Error()})
			return
		}
		var hrep actors.HealthReport
		herr := errors.New("health monitor disabled")
		if !n.HealthSettings().Disabled {
			hrep, herr = n.Health(ctx) // no answer: the statuses alone decide
		}
		rd := assess(infos, hrep, herr, want, n.ShuttingDown()) // readiness.go
		code := http.StatusOK
		if !rd.Ready {
			code = http.StatusServiceUnavailable
		}
		writeJSON(w, code, rd)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.Metrics(), promhttp.HandlerOpts{}))
	mux.HandleFunc("/", notAnEndpoint)
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), requestTimeout)
		defer cancel()
		doc, err := BuildStatus(ctx, n)
		if err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, doc)
	})
	// On loopback, a page elsewhere could read /status and /metrics
	// through a browser of this host by DNS rebinding: only loopback names
	// are answered. Elsewhere (--http-allow-remote) the endpoints answer
	// whoever reaches the address, by whatever name the network gives it
	// (a scrape by DNS name, a load balancer), as the web page does with
	// --ui-allow-remote.
	if host, _, err := net.SplitHostPort(cfg.Addr); err != nil || httpserve.LoopbackHost(host) {
		return httpserve.LoopbackNamesOnly(mux, "the endpoints listen on loopback and answer",
			"name the host they are asked by in HTTPConfig.AllowHosts (--http-allow-host NAME), or serve them on an address that is not loopback, where any Host is answered (--http ADDR --http-allow-remote; a host's HTTPConfig.Addr)",
			refusals, cfg.AllowHosts...)
	}
	return mux
}

// endpoints are the paths the server answers, each to GET and HEAD.
var endpoints = []string{"/healthz", "/readyz", "/metrics", "/status"}

// notAnEndpoint answers what no endpoint matched: an endpoint asked with
// another method (405, Allow: GET, HEAD) or another path (404), each with
// a JSON error that names the endpoints. Before, the mux's bare "404 page
// not found" and "Method Not Allowed" said nothing of them (an SRE's
// trial: /, /status/, POST /metrics).
func notAnEndpoint(w http.ResponseWriter, r *http.Request) {
	const list = "GET /healthz, /readyz, /metrics or /status"
	if slices.Contains(endpoints, r.URL.Path) {
		w.Header().Set("Allow", "GET, HEAD")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"error": fmt.Sprintf("%s %s: the endpoints answer GET and HEAD only; ask %s", r.Method, r.URL.Path, list)})
		return
	}
	writeJSON(w, http.StatusNotFound, map[string]any{"error": fmt.Sprintf("no endpoint %q here: ask %s (docs/operations.md, \"HTTP endpoints\")", r.URL.Path, list)})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// ListenAddr returns addr with loopback as the host when it names none
// (":9464" → "127.0.0.1:9464"), or a clear error for an address that is not
// host:port or whose port is not a number from 0 to 65535 (CheckPort).
func ListenAddr(addr string) (string, error) {
	host, port, err := httpserve.SplitListen("HTTP address", addr, "127.0.0.1:9464")
	if err != nil {
		return "", err
	}
	if err := CheckPort(port); err != nil {
		return "", fmt.Errorf("HTTP address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// Server serves a node's endpoints. Start binds it; Shutdown stops it and
// waits for its goroutine.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	wg   sync.WaitGroup
	err  error
	once sync.Once
}

// Start listens on addr (see ListenAddr) and serves n's endpoints on a
// goroutine the Server owns.
func Start(n *actors.Node, cfg actors.HTTPConfig, logger *logrus.Logger) (*Server, error) {
	addr, err := ListenAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("HTTP endpoints: listen on %s: %w", addr, err)
	}
	return serve(n, cfg, logger, ln), nil
}

// serve serves n's endpoints on ln, which it takes over.
func serve(n *actors.Node, cfg actors.HTTPConfig, logger *logrus.Logger, ln net.Listener) *Server {
	refusals := httpserve.NewRefusalLog(logger, "HTTP endpoints", "name it with --http-allow-host NAME (HTTPConfig.AllowHosts)")
	srv, limited := httpserve.Server(handler(n, cfg, refusals), ln, cfg.WriteTimeout) // connection and response bounds: see httpserve
	s := &Server{ln: ln, srv: srv}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(limited); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.err = err
			logger.WithError(err).Error("HTTP endpoints stopped")
		}
	}()
	logger.WithField("addr", ln.Addr().String()).Info("HTTP endpoints: /healthz /readyz /metrics /status")
	return s
}

// Addr returns the address the server listens on (with the port chosen
// when the configured one was 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops the server gracefully (requests in progress finish until
// ctx ends) and waits for its goroutine. Calling it again returns the first
// result.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	s.once.Do(func() {
		err = s.srv.Shutdown(ctx)
		if err != nil {
			_ = s.srv.Close()
		}
		s.wg.Wait()
		if err == nil {
			err = s.err
		}
		s.err = err
	})
	return s.err
}

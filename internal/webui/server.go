package webui

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/httpapi"
	"github.com/exo-actors/exo-actors/internal/httpserve"
)

//go:embed assets
var assets embed.FS

// Node is what the page needs of a node. *runtime.System satisfies it.
type Node interface {
	// Status returns the /status document (internal/httpapi).
	Status(ctx context.Context) (*httpapi.StatusDoc, error)
	// Runners lists the runners with their current process and generation.
	Runners(ctx context.Context) ([]actors.RunnerInfo, error)
	// StopRunner stops one runner (Shutdown frame, SIGTERM, SIGKILL).
	StopRunner(ctx context.Context, id string) (*actors.StopResult, error)
	// Submit queues a task on a runner (the "garbage" fault is a task).
	Submit(ctx context.Context, runnerID string, t actors.TaskSpec) (*actors.TaskHandle, error)
}

// Config configures the page's server. The zero value (apart from Addr for
// Start) is a read-only page on loopback.
type Config struct {
	// Addr is where Start listens, host:port; an empty host means 127.0.0.1.
	// A host that is not loopback is refused unless AllowRemote is set.
	Addr string
	// AllowRemote allows a listen address that is not loopback, and turns
	// off the Host header check.
	AllowRemote bool
	// AllowHosts names the hosts, beside loopback names and the machine's
	// own name, that the Host header check answers (httpserve.CheckHostName's
	// form): the names a reverse proxy on this machine passes on.
	AllowHosts []string
	// Actions enables the fault and stop buttons and their POST endpoints;
	// off, they answer 403.
	Actions bool
	// Program names what serves the page, in the 403 of an action while
	// Actions is off: "start the demo with --ui-actions …". Empty means
	// "the node".
	Program string
	// Interval is the time between two snapshots on an event stream;
	// zero means 500 ms.
	Interval time.Duration
	// MaxClients bounds the open event streams; one more gets 503. Zero
	// means 16.
	MaxClients int
	// WriteTimeout bounds each response but the event streams' (whose
	// writes have httpserve.StreamWriteTimeout each): a client that stops
	// reading is cut off then, and its handler and connection freed. An
	// action's answer has it from when the action ends. Zero means
	// httpserve.WriteTimeout (30s).
	WriteTimeout time.Duration
}

// Defaults of Config.
const (
	DefaultInterval   = 500 * time.Millisecond
	DefaultMaxClients = 16
)

// requestTimeout bounds what one request asks of the node (a stop can take
// the runner's whole stop escalation).
const requestTimeout = 30 * time.Second

// maxLog is how many of the page's own actions the log keeps (oldest
// dropped first).
const maxLog = 50

// Snapshot is what the page receives: the node's /status document (or the
// error that stood in its way), whether the buttons are on, the faults they
// offer, and the log of actions taken through the page.
type Snapshot struct {
	Status  *httpapi.StatusDoc `json:"status,omitempty"`
	Error   string             `json:"error,omitempty"`
	Actions bool               `json:"actions"`
	Faults  []FaultInfo        `json:"faults"`
	Log     []LogEntry         `json:"log"`
}

// LogEntry is one action taken through the page.
type LogEntry struct {
	Time       time.Time `json:"time"`
	RunnerID   string    `json:"runner_id"`
	Action     string    `json:"action"`
	Generation uint64    `json:"generation"`
	Result     string    `json:"result"`
	OK         bool      `json:"ok"`
}

// CheckAddr returns addr with 127.0.0.1 as the host when it names none, or
// a clear error for an address that is not host:port, or whose host is not
// loopback while allowRemote is false.
func CheckAddr(addr string, allowRemote bool) (string, error) {
	host, port, err := httpserve.SplitListen("UI address", addr, "127.0.0.1:8080")
	if err != nil {
		return "", err
	}
	if err := httpapi.CheckPort(port); err != nil {
		return "", fmt.Errorf("UI address %q: %w", addr, err)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	if !allowRemote && !httpserve.LoopbackHost(host) {
		return "", fmt.Errorf("UI address %q is not loopback: the page shows the node's internals and its buttons can kill processes; "+
			"use 127.0.0.1 or localhost, or allow it explicitly (--ui-allow-remote)", addr)
	}
	return net.JoinHostPort(host, port), nil
}

type handler struct {
	node     Node
	cfg      Config
	slots    chan struct{} // event streams open: one token each; never closed
	routes   http.Handler  // the mux, behind the Host check unless AllowRemote
	signal   func(pid int, sig syscall.Signal) error
	mu       sync.Mutex
	log      []LogEntry // under mu, at most maxLog, oldest first
	sequence uint64     // under mu: numbers the garbage tasks
	// taskPrefix starts the garbage tasks' IDs: "ui" for the page.
	taskPrefix string
	// streamWrite bounds each write of an event stream
	// (httpserve.StreamWriteTimeout; shorter in tests).
	streamWrite time.Duration
	// streamCut, when set (tests), hears why an event stream's write
	// failed, once its slot is given back (the next stream may take it).
	streamCut func(error)
}

// writeTimeout is cfg.WriteTimeout or its default.
func (c Config) writeTimeout() time.Duration {
	if c.WriteTimeout <= 0 {
		return httpserve.WriteTimeout
	}
	return c.WriteTimeout
}

// Handler returns the page and its API for node n (see the package
// documentation). Config.Addr is not used.
func Handler(n Node, cfg Config) http.Handler {
	return newHandler(n, cfg)
}

func newHandler(n Node, cfg Config) *handler { return newLoggedHandler(n, cfg, nil) }

// newLoggedHandler is newHandler whose Host guard logs its refusals to
// refusals (nil: not logged).
func newLoggedHandler(n Node, cfg Config, refusals *httpserve.RefusalLog) *handler {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.MaxClients <= 0 {
		cfg.MaxClients = DefaultMaxClients
	}
	h := &handler{node: n, cfg: cfg, slots: make(chan struct{}, cfg.MaxClients), taskPrefix: "ui", streamWrite: httpserve.StreamWriteTimeout,
		signal: func(pid int, sig syscall.Signal) error { return syscall.Kill(pid, sig) }}
	h.routes = h.mux()
	if !cfg.AllowRemote {
		h.routes = httpserve.LoopbackNamesOnly(h.routes, "the page answers",
			"name the host it is asked by with --ui-allow-host NAME, or serve the page with --ui-allow-remote, which turns this check off", refusals, cfg.AllowHosts...)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.routes.ServeHTTP(w, r)
}

func (h *handler) mux() *http.ServeMux {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "assets")
	mux.Handle("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.HandleFunc("GET /api/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, h.snapshot(r.Context()))
	})
	mux.HandleFunc("GET /api/events", h.events)
	mux.HandleFunc("POST /api/runners/{id}/fault", h.fault)
	mux.HandleFunc("POST /api/runners/{id}/stop", h.stop)
	return mux
}

func (h *handler) snapshot(ctx context.Context) Snapshot {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s := Snapshot{Actions: h.cfg.Actions, Faults: Faults()}
	doc, err := h.node.Status(ctx)
	if err != nil {
		s.Error = err.Error()
	} else {
		s.Status = doc
	}
	h.mu.Lock()
	s.Log = append([]LogEntry{}, h.log...)
	h.mu.Unlock()
	return s
}

// events streams one Snapshot per interval as server-sent events until the
// client goes away or the server shuts down (Start's base context).
func (h *handler) events(w http.ResponseWriter, r *http.Request) {
	var cut error
	defer func() { // first in, so last out: after the slot is free
		if cut != nil && h.streamCut != nil {
			h.streamCut(cut)
		}
	}()
	if _, ok := w.(http.Flusher); !ok {
		writeError(w, http.StatusInternalServerError, "event stream: the connection cannot flush")
		return
	}
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	default:
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("event stream refused: %d already open (the limit); close another tab", h.cfg.MaxClients))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	tick := time.NewTicker(h.cfg.Interval)
	defer tick.Stop()
	rc := http.NewResponseController(w)
	for {
		b, err := json.Marshal(h.snapshot(r.Context()))
		if err != nil {
			return
		}
		// A client that stops reading would block this write for good and
		// keep its slot: each write has StreamWriteTimeout.
		_ = rc.SetWriteDeadline(time.Now().Add(h.streamWrite))
		if _, err = fmt.Fprintf(w, "event: snapshot\ndata: %s\n\n", b); err == nil {
			err = rc.Flush()
		}
		if err != nil {
			cut = err
			return
		}
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
		}
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// Server serves the page. Start binds it; Shutdown stops it and waits for
// its goroutine.
type Server struct {
	srv    *http.Server
	ln     net.Listener
	cancel context.CancelFunc // ends every request's context: the event streams
	wg     sync.WaitGroup
	err    error
	once   sync.Once
}

// Start checks cfg.Addr (CheckAddr), listens on it and serves node n's page
// on a goroutine the Server owns.
func Start(n Node, cfg Config, logger *logrus.Logger) (*Server, error) {
	addr, err := CheckAddr(cfg.Addr, cfg.AllowRemote)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("UI: listen on %s: %w", addr, err)
	}
	return serve(n, cfg, logger, ln), nil
}

// serve serves node n's page on ln, which it takes over.
func serve(n Node, cfg Config, logger *logrus.Logger, ln net.Listener) *Server {
	base, cancel := context.WithCancel(context.Background())
	refusals := httpserve.NewRefusalLog(logger, "web page", "name it with --ui-allow-host NAME (webui.Config.AllowHosts)")
	srv, limited := httpserve.Server(newLoggedHandler(n, cfg, refusals), ln, cfg.writeTimeout()) // connection and response bounds: see httpserve
	srv.BaseContext = func(net.Listener) context.Context { return base }
	s := &Server{ln: ln, cancel: cancel, srv: srv}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(limited); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.err = err
			logger.WithError(err).Error("UI server stopped")
		}
	}()
	logger.WithFields(logrus.Fields{"addr": ln.Addr().String(), "actions": cfg.Actions}).Info("UI: the supervision tree live")
	return s
}

// Addr returns the address the server listens on (with the port chosen
// when the configured one was 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL returns the page's address, http://ADDR/.
func (s *Server) URL() string { return "http://" + s.Addr() + "/" }

// Shutdown ends the open event streams, stops the server gracefully
// (requests in progress finish until ctx ends) and waits for its goroutine.
// Calling it again returns the first result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.once.Do(func() {
		// http.Server.Shutdown does not cancel the contexts of requests in
		// progress: an event stream would hold it until ctx ends.
		s.cancel()
		err := s.srv.Shutdown(ctx)
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

// NodeOf adapts an actors.Node (e.g. sysnode.Of(system)) to Node.
func NodeOf(n *actors.Node) Node { return actorsNode{n} }

type actorsNode struct{ *actors.Node }

func (a actorsNode) Status(ctx context.Context) (*httpapi.StatusDoc, error) {
	return httpapi.BuildStatus(ctx, a.Node)
}

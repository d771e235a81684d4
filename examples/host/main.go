package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	exo "github.com/exo-actors/exo-actors/runtime"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "host:", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down in order: HTTP first (no new
// requests; the ones in flight finish), then the System.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("host", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free one)")
	exoBin := fs.String("exo", "", "exo-actors binary whose built-in runner to run")
	runnerCmd := fs.String("runner", "", "runner executable to run instead of the built-in runner")
	if err := fs.Parse(args); err != nil {
		return err
	}
	spec := exo.RunnerSpec{Kind: "llm", Command: *runnerCmd}
	if *runnerCmd == "" {
		if *exoBin == "" {
			return errors.New("set --exo (the exo-actors binary) or --runner (a runner executable)")
		}
		spec = exo.RunnerSpec{Kind: "llm", Builtin: true, Args: []string{"--token-delay", "2ms"}}
	}

	logger := logrus.New()
	logger.SetOutput(stderr)
	logger.SetLevel(logrus.WarnLevel)
	sys, err := exo.New(exo.Config{
		Logger:        logger.WithField("service", "host"), // any logrus.FieldLogger
		BuiltinBinary: *exoBin,
		Shutdown:      exo.ShutdownDeadlines{Draining: 10 * time.Second},
	})
	if err != nil {
		return err
	}
	// From here on the System must be shut down whatever happens.
	shutdown := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		report, err := sys.Shutdown(sctx)
		fmt.Fprint(stderr, report)
		if err != nil {
			fmt.Fprintln(stderr, "host: shutdown:", err)
		} else if !report.Clean() {
			fmt.Fprintln(stderr, "host: shutdown was not clean (a phase timed out, failed or was forced: see the report)")
		}
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	id, err := sys.SpawnRunner(startCtx, spec)
	if err == nil {
		err = sys.WaitReady(startCtx, id) // the runner's failure, if it fails
	}
	if err != nil {
		shutdown()
		return err
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		shutdown()
		return err
	}
	srv := &http.Server{Handler: newHandler(sys, id), ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "listening on http://%s (runner %s)\n", ln.Addr(), id)
	served := make(chan error, 1) // one send, never closed
	go func() { served <- srv.Serve(ln) }()

	select {
	case err = <-served: // the listener failed
	case <-ctx.Done():
		hctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err = srv.Shutdown(hctx) // in-flight generations finish streaming
		cancel()
		<-served
	}
	shutdown()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// handler serves /generate and /healthz for one runner.
type handler struct {
	sys    *exo.System
	runner string
	seq    atomic.Uint64
}

func newHandler(sys *exo.System, runner string) http.Handler {
	h := &handler{sys: sys, runner: runner}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /generate", h.generate)
	mux.HandleFunc("GET /healthz", h.health)
	return mux
}

func (h *handler) generate(w http.ResponseWriter, r *http.Request) {
	prompt, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read prompt: "+err.Error(), http.StatusBadRequest)
		return
	}
	maxTokens := "16"
	if v := r.URL.Query().Get("max_tokens"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 4096 {
			http.Error(w, "max_tokens: want 1-4096", http.StatusBadRequest)
			return
		}
		maxTokens = v
	}
	task := exo.Task{ID: fmt.Sprintf("req-%d", h.seq.Add(1)), Kind: "text_generation", Payload: prompt,
		Params: map[string]string{"max_tokens": maxTokens}, Timeout: time.Minute}
	th, err := h.sys.Submit(r.Context(), h.runner, task)
	switch {
	case errors.Is(err, exo.ErrQueueFull):
		http.Error(w, err.Error(), http.StatusTooManyRequests)
		return
	case errors.Is(err, exo.ErrShuttingDown), errors.Is(err, exo.ErrRunnerNotAvailable):
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Task-ID", task.ID)
	flusher, _ := w.(http.Flusher)
	for {
		c, err := th.Next(r.Context())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil { // the client went away: cancel the task
			_, _ = h.sys.Cancel(context.Background(), h.runner, task.ID)
			return
		}
		if c.Error != "" {
			fmt.Fprintf(w, "\n[error: %s]", c.Error)
			continue
		}
		_, _ = io.WriteString(w, c.Text)
		if flusher != nil {
			flusher.Flush()
		}
	}
	out, err := th.Wait(r.Context())
	if err == nil && out.Status != exo.TaskComplete {
		fmt.Fprintf(w, "\n[%s: %s]", out.Status, out.Reason)
	}
}

func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	infos, err := h.sys.Runners(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	for _, in := range infos {
		if in.ID == h.runner {
			code := http.StatusOK
			if in.Status != exo.StatusReady && in.Status != exo.StatusRunning {
				code = http.StatusServiceUnavailable
			}
			w.WriteHeader(code)
			fmt.Fprintf(w, "%s %s\n", in.ID, in.StatusText())
			return
		}
	}
	http.Error(w, "runner gone", http.StatusServiceUnavailable)
}

package runtime_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// sessionHook hands on the gateway's "session opened" and "session
// ended" lines (at most 4 of each waiting; a helper's).
type sessionHook struct{ opened, ended chan logrus.Entry }

func (sessionHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h sessionHook) Fire(e *logrus.Entry) error {
	to := h.opened
	switch {
	case strings.Contains(e.Message, "gateway: session opened"):
	case strings.Contains(e.Message, "gateway: session ended"):
		to = h.ended
	default:
		return nil
	}
	select {
	case to <- logrus.Entry{Message: e.Message, Level: e.Level, Data: e.Data}:
	default:
	}
	return nil
}

// runServeLogger is the helper process "serve-logger" (one protoactor
// Remote per process): the gateway's lines go to the System's logger when
// ServeConfig.Logger is nil, and to a *logrus.Entry, with its fields, when
// given one. For each case it prints "listening ADDR", waits for a client
// of the test's (the gateway's "session opened" line), then prints
// "ok CASE" or "bad CASE: why"; at the end "done".
func runServeLogger() int {
	exoBin = os.Getenv("EXO_BUILTIN")
	hook := sessionHook{opened: make(chan logrus.Entry, 4), ended: make(chan logrus.Entry, 4)}
	base := logrus.New()
	base.Out = io.Discard
	base.SetLevel(logrus.InfoLevel)
	base.AddHook(hook)
	kinds := map[string]exo.RemoteKind{"echo": {Spec: exo.RunnerSpec{Kind: "echo", Builtin: true}}}
	serve := func(step string, sysLogger logrus.FieldLogger, serveLogger logrus.FieldLogger, field, value string) bool {
		cfg := config()
		cfg.Logger = sysLogger
		sys, err := exo.New(cfg)
		if err != nil {
			fmt.Printf("bad %s: new: %v\n", step, err)
			return false
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, _ = sys.Shutdown(ctx)
		}()
		srv, err := sys.Serve(exo.ServeConfig{Name: "n-" + step, Kinds: kinds, Logger: serveLogger})
		if err != nil {
			fmt.Printf("bad %s: serve: %v\n", step, err)
			return false
		}
		defer srv.Close()
		fmt.Println("listening", srv.Addr())
		// The client's session opens, then ends with its Close: both lines
		// carry the field.
		for _, want := range []struct {
			text string
			ch   chan logrus.Entry
		}{{"gateway: session opened", hook.opened}, {"gateway: session ended", hook.ended}} {
			select {
			case e := <-want.ch:
				if e.Data[field] != value {
					fmt.Printf("bad %s: the gateway's line %q has fields %v; want %s=%s\n", step, e.Message, e.Data, field, value)
					return true
				}
			case <-time.After(20 * time.Second):
				fmt.Printf("bad %s: no %q line reached the logger within 20s\n", step, want.text)
				return true
			}
		}
		fmt.Println("ok", step)
		return true
	}
	// Nil: the System's logger (here an Entry, whose field it carries).
	if !serve("default", base.WithField("host", "h1"), nil, "host", "h1") {
		return 1
	}
	// An Entry of the host's: its fields on every line of the gateway.
	if !serve("entry", quietLogger(), base.WithField("svc", "gateway"), "svc", "gateway") {
		return 1
	}
	// A nil *logrus.Logger (a host's field never set) is nil: the System's.
	if !serve("typed-nil", base.WithField("host", "h2"), (*logrus.Logger)(nil), "host", "h2") {
		return 1
	}
	fmt.Println("done")
	return 0
}

// TestServeLogger: ServeConfig.Logger takes any logrus.FieldLogger, as
// Config.Logger does (it took only a *logrus.Logger, so a host's
// *logrus.Entry with its fields did not fit), and nil is the System's
// logger, fields included. The node is a helper process (one protoactor
// Remote per process); this process is its client.
func TestServeLogger(t *testing.T) {
	h := startHelper(t, "serve-logger", "EXO_BUILTIN="+exoBinary(t))
	for {
		line := h.line(t, 30*time.Second)
		switch {
		case strings.HasPrefix(line, "bad"):
			t.Error(line)
		case strings.HasPrefix(line, "listening "):
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			c, err := exo.Dial(ctx, strings.TrimPrefix(line, "listening "))
			cancel()
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			c.Close()
		}
		if line == "done" {
			break
		}
	}
	h.wait(t)
}

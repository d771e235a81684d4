package logbridge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
	"go.uber.org/goleak"

	"github.com/exo-actors/exo-actors/internal/logbridge"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// entryHook hands every logrus entry to the test through a buffered channel
// that nobody closes.
type entryHook struct{ entries chan *logrus.Entry }

func (h *entryHook) Levels() []logrus.Level { return logrus.AllLevels }
func (h *entryHook) Fire(e *logrus.Entry) error {
	select {
	case h.entries <- e:
	default: // the test reads only what it needs; never block the logger
	}
	return nil
}

// TestActorSystemLogsThroughLogrusJSON starts a protoactor system whose logger
// is the bridge, provokes a dead-letter log line, and checks that it arrives in
// logrus — as JSON on the output and as fields in a test hook.
func TestActorSystemLogsThroughLogrusJSON(t *testing.T) {
	var out bytes.Buffer
	logger := logrus.New()
	logger.SetOutput(&out)
	logger.SetFormatter(&logrus.JSONFormatter{})
	logger.SetLevel(logrus.DebugLevel)
	hook := &entryHook{entries: make(chan *logrus.Entry, 64)}
	logger.AddHook(hook)

	system := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logbridge.NewSlog(logger) }),
		actor.WithDeadLetterThrottleInterval(time.Millisecond),
	)
	defer system.Shutdown()
	system.Root.Send(system.NewLocalPID("nobody-home"), "hello")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var got *logrus.Entry
	for got == nil {
		select {
		case e := <-hook.entries:
			if strings.Contains(e.Message, "DeadLetter") {
				if _, ok := e.Data["pid"]; ok {
					got = e
				}
			}
		case <-ctx.Done():
			t.Fatalf("no dead-letter entry reached logrus; output so far:\n%s", out.String())
		}
	}
	if got.Level != logrus.InfoLevel {
		t.Errorf("level = %v, want info", got.Level)
	}
	for _, k := range []string{"pid", "message", "sender"} {
		if _, ok := got.Data[k]; !ok {
			t.Errorf("field %q missing from entry; fields: %v", k, got.Data)
		}
	}
	if !strings.Contains(got.Data["pid"].(*actor.PID).String(), "nobody-home") {
		t.Errorf("pid field = %v, want the dead PID", got.Data["pid"])
	}

	// The same entry was written as JSON with the attributes as top-level fields.
	line, err := got.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(line, &doc); err != nil {
		t.Fatalf("entry is not JSON: %v\n%s", err, line)
	}
	if doc["msg"] != "[DeadLetter]" || doc["level"] != "info" || doc["message"] != "hello" {
		t.Errorf("JSON entry = %v, want msg [DeadLetter], level info, message hello", doc)
	}
}

func TestGroupsAttrsAndLevels(t *testing.T) {
	logger, hook := test.NewNullLogger()
	logger.SetLevel(logrus.DebugLevel)
	l := logbridge.NewSlog(logger).With("component", "runner").WithGroup("proc").With("pid", 42)
	l.Warn("exited", slog.Int("code", 3), slog.Group("sig", slog.String("name", "KILL")))
	l.Log(context.Background(), slog.LevelDebug-4, "trace line is filtered at debug")

	if n := len(hook.AllEntries()); n != 1 {
		t.Fatalf("got %d entries, want 1 (trace filtered)", n)
	}
	e := hook.LastEntry()
	want := map[string]any{"component": "runner", "proc.pid": int64(42), "proc.code": int64(3), "proc.sig.name": "KILL"}
	for k, v := range want {
		if e.Data[k] != v {
			t.Errorf("field %s = %#v, want %#v (all: %v)", k, e.Data[k], v, e.Data)
		}
	}
	if e.Level != logrus.WarnLevel || e.Message != "exited" {
		t.Errorf("entry = %v %q, want warning \"exited\"", e.Level, e.Message)
	}
}

func TestLevelMapping(t *testing.T) {
	cases := []struct {
		in   slog.Level
		want logrus.Level
	}{
		{slog.LevelDebug - 4, logrus.TraceLevel},
		{slog.LevelDebug, logrus.DebugLevel},
		{slog.LevelInfo, logrus.InfoLevel},
		{slog.LevelWarn, logrus.WarnLevel},
		{slog.LevelError, logrus.ErrorLevel},
		{slog.LevelError + 4, logrus.ErrorLevel},
	}
	for _, c := range cases {
		if got := logbridge.LogrusLevel(c.in); got != c.want {
			t.Errorf("LogrusLevel(%v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// TestRoutineLinesAreMilder: protoactor's "EndpointWriter lost connection",
// which it logs at error for every client that goes away (also after its
// goodbye), arrives at warn; other error lines stay errors.
func TestRoutineLinesAreMilder(t *testing.T) {
	logger, hook := test.NewNullLogger()
	l := slog.New(logbridge.New(logger))
	l.Error("EndpointWriter lost connection", slog.String("address", "127.0.0.1:1"))
	l.Error("something else broke")
	got := hook.AllEntries()
	if len(got) != 2 || got[0].Level != logrus.WarnLevel || got[1].Level != logrus.ErrorLevel {
		t.Fatalf("entries %v; want the lost connection at warn, the other at error", got)
	}
}

// TestRefusedRedialIsMilder: after a client process exits, a node that
// still had something to send it redials the client's endpoint and
// protoactor logs "EndpointWriter failed to connect … connection refused"
// (and "failed to create receive stream") at error: the bridge lowers
// these to warn, like "lost connection". The same lines with another cause
// (a TLS failure, the only place its cause is told) stay errors.
func TestRefusedRedialIsMilder(t *testing.T) {
	logger, hook := test.NewNullLogger()
	l := slog.New(logbridge.New(logger))
	refused := errors.New(`rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:37919: connect: connection refused"`)
	x509 := errors.New(`rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs"`)
	l.Error("EndpointWriter failed to connect", slog.String("address", "127.0.0.1:37919"), slog.Any("error", refused), slog.Int("retry", 0))
	l.Error("EndpointWriter failed to create receive stream", slog.String("address", "127.0.0.1:37920"), slog.Any("error", refused))
	l.Error("EndpointWriter failed to connect", slog.String("address", "127.0.0.1:37921"), slog.Any("error", x509), slog.Int("retry", 0))
	// A client killed while the redial reached it: reset, at warn too (a
	// soak logged 856 of these at error); a reset in a TLS handshake stays.
	preface := errors.New(`rpc error: code = Unavailable desc = connection error: desc = "error reading server preface: read tcp 127.0.0.1:46302->127.0.0.1:36981: read: connection reset by peer"`)
	dial := errors.New(`rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:41555: connect: connection reset by peer"`)
	tlsReset := errors.New(`rpc error: code = Unavailable desc = connection error: desc = "transport: authentication handshake failed: read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer"`)
	l.Error("EndpointWriter failed to create receive stream", slog.String("address", "127.0.0.1:36981"), slog.Any("error", preface))
	l.Error("EndpointWriter failed to connect", slog.String("address", "127.0.0.1:41555"), slog.Any("error", dial), slog.Int("retry", 0))
	l.Error("EndpointWriter failed to connect", slog.String("address", "127.0.0.1:2"), slog.Any("error", tlsReset), slog.Int("retry", 0))
	// A client killed just after its hello: the connect response's read
	// is reset (a new user's trial saw it at error).
	l.Error("EndpointWriter failed to receive connect response", slog.String("address", "127.0.0.1:3"), slog.Any("error", errors.New(`rpc error: code = Unavailable desc = error reading from server: read tcp 127.0.0.1:4->127.0.0.1:3: read: connection reset by peer`)))
	got := hook.AllEntries()
	want := []logrus.Level{logrus.WarnLevel, logrus.WarnLevel, logrus.ErrorLevel, logrus.WarnLevel, logrus.WarnLevel, logrus.ErrorLevel, logrus.WarnLevel}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(want); i++ {
		ok = got[i].Level == want[i]
	}
	if !ok {
		for _, e := range got {
			t.Logf("%s %s %v", e.Level, e.Message, e.Data)
		}
		t.Fatalf("%d entries; want the refused and reset redials at warn, the TLS failures at error", len(got))
	}
}

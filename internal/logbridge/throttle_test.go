package logbridge

import (
	"log/slog"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/exo-actors/exo-actors/runtime/clock"
)

// healthLine logs protoactor's automanaged health-check failure for url.
func healthLine(l *slog.Logger, url string) {
	l.Error("Bad connection to the node health status", slog.String("error", "connection refused"), slog.String("autoManMemberUrl", url))
}

func suppressed(e logrus.Entry) any { return e.Data[SuppressedField] }

// TestThrottleRepeatedLines: protoactor's health-check line, five a second
// for a down peer, is printed once per interval per peer, the next printed
// one counting the lines dropped in between; other lines pass; a quiet key
// is summed up; the table of keys stays bounded (fake clock).
func TestThrottleRepeatedLines(t *testing.T) {
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	logger, hook := test.NewNullLogger()
	l := slog.New(NewWithOptions(logger, Options{RepeatInterval: 10 * time.Second, MaxKeys: 3, Now: fc.Now}))
	cluster := l.With("component", "cluster") // derived handlers share the throttle

	// Peer A down for 10 s: 50 polls, 200 ms apart, then the 51st.
	for i := 0; i < 50; i++ {
		healthLine(cluster, "http://127.0.0.1:6331/_health")
		fc.Advance(200 * time.Millisecond)
	}
	if n := len(hook.AllEntries()); n != 1 {
		t.Fatalf("%d lines in the first 10 s, want 1", n)
	}
	healthLine(cluster, "http://127.0.0.1:6331/_health")
	es := hook.AllEntries()
	if len(es) != 2 || suppressed(*es[1]) != 49 || es[1].Level != logrus.ErrorLevel || es[1].Data["component"] != "cluster" {
		t.Fatalf("after 10 s: %d lines, last %v %v; want 2, the second with suppressed=49", len(es), es[len(es)-1].Level, es[len(es)-1].Data)
	}
	if suppressed(*es[0]) != nil {
		t.Errorf("the first line has %s=%v", SuppressedField, suppressed(*es[0]))
	}

	// Another peer, another level, another message: each its own key.
	hook.Reset()
	healthLine(cluster, "http://127.0.0.1:6332/_health")
	cluster.Warn("Bad connection to the node health status", slog.String("error", "connection refused"), slog.String("autoManMemberUrl", "http://127.0.0.1:6331/_health"))
	if n := len(hook.AllEntries()); n != 2 {
		t.Fatalf("%d lines for a second peer and a second level, want 2", n)
	}

	// Peer B comes back after two more failures: once it is quiet for an
	// interval, the next line of any key sums it up (its last dropped line,
	// counting the one before it).
	hook.Reset()
	healthLine(cluster, "http://127.0.0.1:6332/_health")
	fc.Advance(200 * time.Millisecond)
	healthLine(cluster, "http://127.0.0.1:6332/_health")
	fc.Advance(11 * time.Second)
	l.Info("cluster view changed")
	es = hook.AllEntries()
	if len(es) != 2 || es[0].Data["autoManMemberUrl"] != "http://127.0.0.1:6332/_health" || suppressed(*es[0]) != 1 || es[1].Message != "cluster view changed" {
		t.Fatalf("summary: %d lines %v", len(es), es)
	}

	// Bounded: never more than MaxKeys keys; the least recently seen is
	// evicted (summed up first when it dropped lines).
	hook.Reset()
	for i := 0; i < 10; i++ {
		l.Error("distinct", slog.Int("i", i))
		l.Error("distinct", slog.Int("i", i)) // dropped
		if n := len(NewWithOptions(logger, Options{}).th.keys); n != 0 {
			t.Fatal("a new Handler shares state")
		}
		h := l.Handler().(*Handler)
		h.th.mu.Lock()
		n := len(h.th.keys)
		h.th.mu.Unlock()
		if n > 3 {
			t.Fatalf("%d keys tracked, cap 3", n)
		}
	}
	// Every line is accounted for: printed, or counted in a printed line.
	total := 0
	for _, e := range hook.AllEntries() {
		total++
		if n, ok := suppressed(*e).(int); ok {
			total += n
		}
	}
	if total < 20-3 { // at most the last MaxKeys keys' drops are still pending
		t.Errorf("%d of 20 lines accounted for", total)
	}

	// A negative interval turns the throttle off.
	hook.Reset()
	off := slog.New(NewWithOptions(logger, Options{RepeatInterval: -1}))
	for i := 0; i < 5; i++ {
		healthLine(off, "x")
	}
	if n := len(hook.AllEntries()); n != 5 {
		t.Errorf("throttle off: %d lines, want 5", n)
	}
}

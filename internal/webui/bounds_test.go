package webui

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/testutil"
)

// serveForTest serves node's page on a ConnWatch listener until the test
// ends.
func serveForTest(t *testing.T, node Node, cfg Config) (*Server, *testutil.ConnWatch) {
	t.Helper()
	watch := testutil.WatchConns(t)
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	s := serve(node, cfg, logger, watch)
	testutil.ShutdownAtCleanup(t, s.Shutdown)
	return s, watch
}

// TestWriteTimeoutFreesAStuckClient: a client that asks for /api/status
// and never reads held its handler inside Write, and its connection, for
// as long as it stayed (no write timeout). With Config.WriteTimeout the
// server gives the connection up; an event stream, whose writes have
// deadlines of their own, still lives past it.
func TestWriteTimeoutFreesAStuckClient(t *testing.T) {
	node := &fakeNode{}
	for i := range 2000 { // a snapshot of some 200 KB: past the buffers (about 14 KB)
		node.runners = append(node.runners, actors.RunnerInfo{ID: fmt.Sprintf("runner-%04d-%s", i, strings.Repeat("x", 40)), Generation: 1, Pid: 1})
	}
	const writeTimeout = 100 * time.Millisecond
	s, watch := serveForTest(t, node, Config{WriteTimeout: writeTimeout, Interval: 10 * time.Millisecond})

	watch.AskAndNeverRead(t, "/api/status", writeTimeout)

	// A stream that is read goes on past the write timeout.
	resp, err := http.Get(s.URL() + "api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := bufio.NewReader(resp.Body)
	start := time.Now()
	for events := 0; events < 3 || time.Since(start) < 5*writeTimeout; {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("the event stream ended after %d events, %s (the write timeout: %s): %v", events, time.Since(start).Round(time.Millisecond), writeTimeout, err)
		}
		if strings.HasPrefix(line, "event: snapshot") {
			events++
		}
	}
}

// TestActionAnswerAfterASlowStop: a stop may take the runner's whole stop
// escalation, as long as the response's write timeout or longer; its
// answer still reaches the page.
func TestActionAnswerAfterASlowStop(t *testing.T) {
	const writeTimeout = time.Second
	node := &fakeNode{runners: []actors.RunnerInfo{{ID: "r1", Generation: 1, Pid: 1}}, stopTakes: 2 * writeTimeout}
	s, _ := serveForTest(t, node, Config{Actions: true, WriteTimeout: writeTimeout})
	resp, err := http.Post(s.URL()+"api/runners/r1/stop", "application/json", strings.NewReader(`{"generation":1}`))
	if err != nil {
		t.Fatalf("a stop of %s with a write timeout of %s: %v", node.stopTakes, writeTimeout, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "stopped") {
		t.Fatalf("a stop of %s with a write timeout of %s: %s %s %v", node.stopTakes, writeTimeout, resp.Status, b, err)
	}
}

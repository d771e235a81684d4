package httpapi_test

import (
	"io"
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

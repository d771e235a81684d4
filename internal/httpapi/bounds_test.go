package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net"
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
	n := startNode(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	watch := testutil.WatchConns(ln)
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	s := httpapi.ServeOn(n.Node, actors.HTTPConfig{WriteTimeout: 100 * time.Millisecond}, logger, watch)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	}()

	deaf := testutil.DeafDial(t, s.Addr())
	defer deaf.Close()
	if _, err := fmt.Fprintf(deaf, "GET /metrics HTTP/1.1\r\nHost: %s\r\n\r\n", s.Addr()); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		what string
		ch   chan struct{}
	}{{"began its answer", watch.Wrote}, {"gave the connection up", watch.Closed}} {
		select { // the client never reads
		case <-step.ch:
		case <-time.After(20 * time.Second):
			t.Fatalf("the server never %s to a client that reads nothing within 20s (write timeout: 100ms)", step.what)
		}
	}
}

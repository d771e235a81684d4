package membership

import (
	"bytes"
	"context"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestReadOfAPeerThatSpeaksFirstLogsNothing: a status read whose peer is
// a server that speaks first (a node's gateway given as an automanaged
// peer) fails naming it, and net/http logs no "Unsolicited response
// received on idle HTTP channel" line through the global log package into
// the host's output (a new user's trial saw one from DialCluster).
func TestReadOfAPeerThatSpeaksFirstLogsNothing(t *testing.T) {
	peer := testutil.ServeGRPC(t) // speaks first, as a node's gateway
	var logged bytes.Buffer
	log.SetOutput(&logged)
	defer log.SetOutput(os.Stderr) // the log package's default
	// A client slower than the server: the connection is handed to
	// net/http only once the server's first bytes are there (a poll of
	// its socket, no sleep), as on a loaded machine; this is when net/http
	// found them unsolicited.
	slow := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		rc, err := c.(*net.TCPConn).SyscallConn()
		if err != nil {
			c.Close()
			return nil, err
		}
		_ = rc.Control(func(fd uintptr) {
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			_, _ = unix.Poll(fds, 5000)
		})
		return c, nil
	}}
	for _, hc := range []*http.Client{nil, {Timeout: 2 * time.Second, Transport: WriteFirst(slow)}} {
		for range 20 {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			st, err := QueryStatusVia(ctx, Config{Cluster: "c", Peers: []string{peer}}, hc)
			cancel()
			if err == nil || !strings.Contains(err.Error(), "it answers, but not over HTTP/1: a node's gateway (--listen)?") {
				t.Fatalf("read of a peer that speaks first: %v (%+v); want it named as not HTTP/1", err, st.Peers)
			}
		}
		if hc != nil {
			hc.CloseIdleConnections()
		}
	}
	if strings.Contains(logged.String(), "Unsolicited") {
		t.Errorf("the global log got: %s", logged.String())
	}
}

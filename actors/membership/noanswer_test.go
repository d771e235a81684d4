package membership

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestNoAnswerSaysWhy: a status read that no peer answered names each
// peer's failure in short and what --cluster-peers wants. Before, it said
// only "is a member running there?": a refused connection, a gateway
// address given for a cluster port and another HTTP server read alike (a
// new user's trial gave a member's gateway address and was told no member
// ran there).
func TestNoAnswerSaysWhy(t *testing.T) {
	refused := "127.0.0.1:" + strconv.Itoa(testutil.ReservePorts(t, 1)[0])
	// A listener that answers every request with bytes that are not
	// HTTP/1 (as a node's gRPC gateway does: HTTP/2 frames; checked by
	// hand against 'exo-actors node').
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // owner: the test, which closes ln and waits
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Read(make([]byte, 4096)) // the request, or its start
			_, _ = c.Write([]byte("\x00\x00\x06\x04\x00\x00\x00\x00\x00\x00\x05\x00\x00@\x00"))
			_ = c.Close()
		}
	}()
	defer func() { _ = ln.Close(); wg.Wait() }()
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	notHTTP1 := ln.Addr().String()
	otherHTTP := strings.TrimPrefix(other.URL, "http://")
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, tt := range []struct {
		peers []string
		want  string
	}{
		{[]string{refused}, "no member of cluster c answered at " + refused + " (connection refused): is a member running there? --cluster-peers names each member's HTTP port (its --cluster-port), not its gateway (--listen)"},
		{[]string{notHTTP1}, "(it answers, but not over HTTP/1: a node's gateway (--listen)?)"},
		{[]string{otherHTTP}, "(HTTP 404: not a cluster member's HTTP port)"},
		{[]string{refused, otherHTTP}, "(" + refused + ": connection refused; " + otherHTTP + ": HTTP 404: not a cluster member's HTTP port)"},
	} {
		_, err := QueryStatusVia(context.Background(), Config{Cluster: "c", Provider: ProviderAutomanaged, Peers: tt.peers}, hc)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("peers %v: %v\nwant it to contain %q", tt.peers, err, tt.want)
		}
	}
}

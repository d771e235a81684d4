package membership

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// WriteFirst returns tr (changed in place) with its DialContext wrapped so
// that a new connection's reads wait for its first write (or its Close).
// net/http's client reads every connection from the moment it is dialed,
// and bytes that arrive before a request was written are "unsolicited":
// it logs `Unsolicited response received on idle HTTP channel starting
// with …` through the process's global log package, into the host's
// output. A gRPC server speaks first (its SETTINGS frame), so a read of a
// peer that is a node's gateway (a wrong ClusterConfig.Peers) printed that
// line in the host's output (a new user's trial). With the reads held back
// until the request is out, those bytes are the request's response, which
// the client refuses as malformed HTTP (peerFailure: "not over HTTP/1").
func WriteFirst(tr *http.Transport) *http.Transport {
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &writeFirstConn{Conn: c, wrote: make(chan struct{})}, nil
	}
	return tr
}

// writeFirstConn is a connection whose reads wait until it was written to
// or closed.
type writeFirstConn struct {
	net.Conn
	once  sync.Once
	wrote chan struct{} // closed once, by open (first Write or Close)
}

func (c *writeFirstConn) open() {
	c.once.Do(func() { close(c.wrote) }) // sole sender: open, once
}

func (c *writeFirstConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.open()
	return n, err
}

func (c *writeFirstConn) Read(b []byte) (int, error) {
	<-c.wrote
	return c.Conn.Read(b)
}

func (c *writeFirstConn) Close() error {
	err := c.Conn.Close()
	c.open()
	return err
}

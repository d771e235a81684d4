package testutil

import (
	"net"
	"sync"
	"syscall"
	"testing"
)

// DeafDial connects to addr with a receive buffer of 4 KiB (about the
// kernel's least), for a client that sends a request and never reads its
// answer: an answer larger than the buffers then blocks the server's
// writes.
func DeafDial(t testing.TB, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ConnWatch is a listener whose connections have a send buffer of 4 KiB
// and tell when the server first writes to them and when it closes them.
// On loopback a client of DeafDial takes about 3 MB before the server's
// writes block; with this send buffer about 10 KB.
type ConnWatch struct {
	net.Listener
	// Wrote and Closed get one value per connection: at its first Write,
	// and at its first Close. Buffered for 16 connections; more are not
	// reported.
	Wrote, Closed chan struct{}
}

// WatchConns returns ln as a ConnWatch.
func WatchConns(ln net.Listener) *ConnWatch {
	return &ConnWatch{Listener: ln, Wrote: make(chan struct{}, 16), Closed: make(chan struct{}, 16)}
}

// Accept accepts a connection of the inner listener and watches it.
func (w *ConnWatch) Accept() (net.Conn, error) {
	c, err := w.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.SetWriteBuffer(4096); err != nil {
			c.Close()
			return nil, err
		}
	}
	return &watchedConn{Conn: c, w: w}, nil
}

type watchedConn struct {
	net.Conn
	w             *ConnWatch
	wrote, closed sync.Once
}

func (c *watchedConn) Write(b []byte) (int, error) {
	c.wrote.Do(func() { notify(c.w.Wrote) })
	return c.Conn.Write(b)
}

func (c *watchedConn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(func() { notify(c.w.Closed) })
	return err
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

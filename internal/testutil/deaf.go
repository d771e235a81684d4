package testutil

import (
	"context"
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
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

// WatchConns listens on 127.0.0.1, any port, for a server that takes the
// listener over (and closes it).
func WatchConns(t testing.TB) *ConnWatch {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &ConnWatch{Listener: ln, Wrote: make(chan struct{}, 16), Closed: make(chan struct{}, 16)}
}

// ShutdownAtCleanup has the test's cleanup call shutdown with 5 s, and
// fail the test on its error.
func ShutdownAtCleanup(t testing.TB, shutdown func(context.Context) error) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
}

// AskAndNeverRead sends GET path to w's address from a DeafDial client
// that never reads, and waits until the server began its answer and then
// gave the connection up (closed it), as a server whose writes have a
// deadline does once the answer passes the buffers. It fails t when
// either takes more than 20 s; writeTimeout, the server's, is for the
// message.
func (w *ConnWatch) AskAndNeverRead(t testing.TB, path string, writeTimeout time.Duration) {
	t.Helper()
	addr := w.Addr().String()
	deaf := DeafDial(t, addr)
	defer deaf.Close()
	if _, err := fmt.Fprintf(deaf, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, addr); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		what string
		ch   chan struct{}
	}{{"began its answer", w.Wrote}, {"gave the connection up", w.Closed}} {
		select { // the client never reads
		case <-step.ch:
		case <-time.After(20 * time.Second):
			t.Fatalf("GET %s: the server never %s to a client that reads nothing within 20s (write timeout: %s)", path, step.what, writeTimeout)
		}
	}
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

// AcceptAndHold listens on 127.0.0.1, any port, and accepts every
// connection, reading and answering nothing, as the kernel of a frozen
// (SIGSTOP) server does; it returns the address. The connections and the
// listener are closed at the end of the test, which waits for the accept
// loop.
func AcceptAndHold(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	// conns belong to the accept loop until done is closed.
	var conns []net.Conn
	go func() { // owner: the test's cleanup, which waits on done
		defer close(done) // sole sender: this accept loop
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return lis.Addr().String()
}

package httpserve_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/exo-actors/exo-actors/internal/httpserve"
	"github.com/exo-actors/exo-actors/internal/testutil"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// get sends a keep-alive GET on c and reads the status line and headers of
// its answer (the body is empty) within d.
func get(c net.Conn, r *bufio.Reader, d time.Duration) (*http.Response, error) {
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(r, nil)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

// TestConnectionLimit: with MaxConns keep-alive connections open, one more
// is not served until one of them closes; then it is.
func TestConnectionLimit(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, limited := httpserve.Server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}), ln, 0)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(limited) }()
	defer func() {
		_ = srv.Close()
		<-done
	}()
	conns := make([]net.Conn, 0, httpserve.MaxConns)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range httpserve.MaxConns {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		if resp, err := get(c, bufio.NewReader(c), 20*time.Second); err != nil || resp.StatusCode != http.StatusNoContent {
			t.Fatalf("connection %d: %v %v", i, resp, err)
		}
	}
	extra, err := net.Dial("tcp", ln.Addr().String()) // the kernel's backlog takes it
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	r := bufio.NewReader(extra)
	// Not served while the others are open (an absence: a short read).
	if resp, err := get(extra, r, 300*time.Millisecond); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("connection %d served while %d were open: %v %v", httpserve.MaxConns+1, httpserve.MaxConns, resp, err)
	}
	conns[0].Close()
	_ = extra.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(r, nil)
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("connection %d once one closed: %v %v", httpserve.MaxConns+1, resp, err)
	}
	resp.Body.Close()
}

// TestTimeoutsSet: a server from httpserve cuts off slow and idle
// connections (net/http's zero values never would).
func TestTimeoutsSet(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv, _ := httpserve.Server(http.NotFoundHandler(), ln, 0)
	if srv.IdleTimeout != httpserve.IdleTimeout || srv.ReadTimeout != httpserve.ReadTimeout || srv.ReadHeaderTimeout != httpserve.ReadHeaderTimeout ||
		srv.WriteTimeout != httpserve.WriteTimeout {
		t.Errorf("timeouts: idle %s, read %s, header %s, write %s", srv.IdleTimeout, srv.ReadTimeout, srv.ReadHeaderTimeout, srv.WriteTimeout)
	}
}

// TestWriteTimeoutFreesAHandler: a client that sends a GET and never reads
// held the handler of a response larger than the sockets' buffers inside
// Write for good, and its connection with it (a review's probe: still
// there after 65 s); about MaxConns such clients locked every other client
// out, /healthz included. The response's write timeout cuts it off: the
// handler's Write fails, the handler returns, the connection closes.
func TestWriteTimeoutFreesAHandler(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	wrote := make(chan error, 1)
	body := make([]byte, 32<<20) // far past the buffers (about 3 MB on loopback)
	srv, limited := httpserve.Server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := w.Write(body)
		wrote <- err
	}), ln, 100*time.Millisecond)
	closed := make(chan struct{}, 1)
	srv.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			select { // one connection in this test
			case closed <- struct{}{}:
			default:
			}
		}
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(limited) }()
	defer func() {
		_ = srv.Close()
		<-done
	}()

	deaf := testutil.DeafDial(t, ln.Addr().String())
	defer deaf.Close()
	if _, err := fmt.Fprintf(deaf, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select { // the client never reads
	case err := <-wrote:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the handler's Write to a client that reads nothing: %v, want a deadline exceeded", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the handler of a client that reads nothing was still in Write after 20s (its write timeout: 100ms)")
	}
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("the connection of a client that reads nothing still open 20s after its handler's Write failed")
	}
}

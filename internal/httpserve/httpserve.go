// Package httpserve holds what the node's HTTP servers (the endpoints of
// internal/httpapi and the web page of internal/webui) share: bounds on
// connections and responses, so that clients can make a server hold
// neither an unbounded number of connections nor one connection forever,
// and the Host check of a server on loopback against DNS rebinding
// (LoopbackNamesOnly).
//
// The bounds and what happens when one is reached:
//   - MaxConns connections open at once: one more waits in the kernel's
//     listen backlog until another closes (netutil.LimitListener), and
//     when the backlog is full the kernel refuses it; nothing is read from
//     it meanwhile.
//   - ReadHeaderTimeout for a request's headers and ReadTimeout for the
//     whole request: a client that sends slowly is cut off.
//   - IdleTimeout: a keep-alive connection with no request for that long
//     is closed (without it net/http keeps an idle connection as long as
//     the client does).
//   - WriteTimeout for a response (http.Server.WriteTimeout: from the end
//     of its request's headers to the end of the response, what the
//     handler computes included): a client that stops reading, once its
//     socket's buffers are full, is cut off then; the handler's Write
//     fails and it returns, freeing the connection and what it held (a
//     response larger than the buffers, such as a /status of some MB,
//     blocked in Write for good before). A handler that streams renews a
//     deadline of its own before each write (StreamWriteTimeout, with
//     http.ResponseController.SetWriteDeadline, which replaces this one),
//     and a handler that may compute longer than WriteTimeout renews it
//     before it writes its answer.
package httpserve

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"
)

// The bounds (see the package comment).
const (
	MaxConns          = 128
	ReadHeaderTimeout = 5 * time.Second
	ReadTimeout       = 30 * time.Second
	IdleTimeout       = 60 * time.Second
	// WriteTimeout is the default bound of a response (Server's
	// writeTimeout when that is 0 or less).
	WriteTimeout = 30 * time.Second
	// StreamWriteTimeout bounds one write of a streamed response: a client
	// that stops reading (its socket's buffers full) is cut off after it,
	// and frees what it held.
	StreamWriteTimeout = 10 * time.Second
)

// Server returns an http.Server for h with the timeouts above, and ln
// limited to MaxConns open connections; serve it with Serve(limited).
// writeTimeout bounds each response; 0 or less means WriteTimeout.
func Server(h http.Handler, ln net.Listener, writeTimeout time.Duration) (srv *http.Server, limited net.Listener) {
	if writeTimeout <= 0 {
		writeTimeout = WriteTimeout
	}
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       IdleTimeout,
		WriteTimeout:      writeTimeout,
	}, netutil.LimitListener(ln, MaxConns)
}

// Package httpserve holds what the node's HTTP servers (the endpoints of
// internal/httpapi and the web page of internal/webui) share: bounds on
// connections, so that clients can make a server hold neither an
// unbounded number of connections nor one connection forever.
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
//
// Responses have no write deadline here (the web page's event streams are
// long): a handler that streams sets one per write (StreamWriteTimeout).
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
	// StreamWriteTimeout bounds one write of a streamed response: a client
	// that stops reading (its socket's buffers full) is cut off after it,
	// and frees what it held.
	StreamWriteTimeout = 10 * time.Second
)

// Server returns an http.Server for h with the timeouts above, and ln
// limited to MaxConns open connections; serve it with Serve(limited).
func Server(h http.Handler, ln net.Listener) (srv *http.Server, limited net.Listener) {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       IdleTimeout,
	}, netutil.LimitListener(ln, MaxConns)
}

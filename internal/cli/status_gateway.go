package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// http2Preface is what an HTTP/2 client sends first (the connection
// preface and an empty SETTINGS frame); an HTTP/2 server, such as a node's
// gRPC gateway, answers with a SETTINGS frame of its own.
const http2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00"

// notHTTPStatus is status's error when addr did not answer as HTTP/1
// (its request failed): when addr speaks HTTP/2 (gRPC) or TLS, it is most
// likely a node's gateway port (--listen), not its --http address, and
// the error says so and what to use instead. Before, status printed the
// HTTP client's complaint with the raw bytes of an HTTP/2 SETTINGS frame
// ("malformed HTTP response \"\x00\x00\x06\x04…\"") and advised starting a
// node with --http on that very port. It returns nil when addr is neither.
func notHTTPStatus(ctx context.Context, addr string) error {
	switch probeGateway(ctx, addr) {
	case "gRPC":
		return fmt.Errorf("%s is not an HTTP endpoint: it answered in HTTP/2 (gRPC), as a node's gateway port (its --listen) does; status reads the node's HTTP endpoints: give --addr the address the node prints as 'node NAME HTTP endpoints on http://…' (start it with --http ADDR), or ask the gateway with 'exo-actors remote status --node %s'",
			addr, addr)
	case "TLS":
		return fmt.Errorf("%s is not an HTTP endpoint: it answered in TLS, as a node's gateway port (its --listen) with --tls-* does; status reads the node's HTTP endpoints (plain HTTP): give --addr the address the node prints as 'node NAME HTTP endpoints on http://…' (start it with --http ADDR), or ask the gateway with 'exo-actors remote status --node %s --tls-ca … --tls-cert … --tls-key …'",
			addr, addr)
	}
	return nil
}

// probeGateway says what speaks at addr: "gRPC" when it answers the
// HTTP/2 preface with a SETTINGS frame, "TLS" when it completes a TLS
// handshake or answers one with a TLS alert, "" for anything else (or no
// connection, or no answer within 2 s).
func probeGateway(ctx context.Context, addr string) string {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return ""
	}
	dl, _ := ctx.Deadline()
	_ = conn.SetDeadline(dl)
	_, err = io.WriteString(conn, http2Preface)
	var b [9]byte
	n := 0
	if err == nil {
		n, _ = io.ReadAtLeast(conn, b[:], 4)
	}
	conn.Close()
	if n >= 4 && b[3] == 0x04 { // a frame header: length (3 bytes), type 4 (SETTINGS)
		return "gRPC"
	}
	// A TLS server closes on the preface without a word (Go's says "first
	// record does not look like a TLS handshake" to itself): ask it for a
	// handshake instead. The certificate is not verified: this only names
	// the protocol, and nothing is sent over the connection.
	td := tls.Dialer{NetDialer: &d, Config: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}} //nolint:gosec // protocol probe only
	tc, err := td.DialContext(ctx, "tcp", addr)
	var alert tls.AlertError
	switch {
	case err == nil:
		tc.Close()
		return "TLS"
	case errors.As(err, &alert):
		return "TLS"
	}
	return ""
}

// errNotHTTP1 is what statusClient's connections return for an answer
// that cannot begin an HTTP/1 response.
var errNotHTTP1 = errors.New("the server's first bytes are not an HTTP/1 response")

// http1Guard is a connection of statusClient: its first read fails with
// errNotHTTP1 when the first byte is NUL (an HTTP/2 frame header, such as
// the SETTINGS a gRPC server sends as soon as it accepts; an HTTP/1
// response begins with "HTTP/"). Handed to net/http as they are, those
// bytes made its transport log "Unsolicited response received on idle
// HTTP channel starting with \x00\x00\x06\x04…" through the process's
// log, on top of status's own error. Only the transport's read loop reads
// it.
type http1Guard struct {
	net.Conn
	checked bool
}

func (c *http1Guard) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.checked && n > 0 {
		c.checked = true
		if p[0] == 0x00 {
			return 0, errNotHTTP1
		}
	}
	return n, err
}

// statusClient is the HTTP client of `status`, whose connections are
// http1Guards; done closes its idle connections.
func statusClient() (c *http.Client, done func()) {
	var d net.Dialer
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &http1Guard{Conn: conn}, nil
		},
	}
	return &http.Client{Transport: tr}, tr.CloseIdleConnections
}

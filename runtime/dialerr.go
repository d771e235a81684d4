package runtime

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/exo-actors/exo-actors/internal/errjoin"
)

// The texts of Dial's connection check (probe): each names what went wrong
// from the client's side and what to do. They stay one line.

// unreachableError: nothing could be reached at addr (no node was ever
// connected). errors.Is(err, ErrNodeLost) holds, as for every call of a
// Client (docs/remote.md), but the text does not say "lost": the node was
// never reached.
type unreachableError struct {
	msg   string
	cause error
}

func (e *unreachableError) Error() string   { return e.msg }
func (e *unreachableError) Unwrap() []error { return []error{ErrNodeLost, e.cause} }

// cannotConnect is probe's error when the TCP connection fails.
func cannotConnect(addr string, err error) error {
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		// Nothing refused it: the connect did not finish in time (a host
		// that drops packets, or a dial with too little time).
		return &unreachableError{cause: err,
			msg: fmt.Sprintf("cannot connect to node %s within the dial timeout (%v): the host may be unreachable or drop packets, or the dial had too little time; check the address (--node on the command line), or allow more time (--timeout)", addr, err)}
	}
	return &unreachableError{cause: err,
		msg: fmt.Sprintf("cannot connect to node %s (%v): is a node running there? check the address (--node on the command line)", addr, err)}
}

// cannotTalk is probe's error when the first write fails.
func cannotTalk(addr string, err error) error {
	return &unreachableError{cause: err,
		msg: fmt.Sprintf("connected to %s, but it closed the connection at once (%v): is it an exo-actors node? check the address (--node on the command line)", addr, err)}
}

// silentNode is probe's error when addr accepted the TCP connection but
// answered nothing (no HTTP/2 settings, no TLS handshake) before ctx ended.
// It names no cause it cannot know: not TLS, not a terminated gateway.
func silentNode(ctx context.Context, addr string) error {
	cause := ctx.Err()
	if cause == nil {
		cause = context.DeadlineExceeded // probeDeadline's own bound
	}
	return &unreachableError{cause: cause,
		msg: fmt.Sprintf("node %s accepted the connection but did not answer within the dial timeout: it may be frozen (e.g. SIGSTOP), overloaded or unreachable; check the node's process and host, or allow more time (the dial's ctx; --timeout on the command line)", addr)}
}

// helloTimeout is Dial's error when the node took the connection check but
// its answer to the hello never came back within the dial's ctx. With TLS
// the likely cause is the way back: protoactor sends the answer over a
// connection the node dials to this client's own listener (listen), so
// the client's certificate is also a server certificate, and a node that
// cannot verify it (no IP SAN for listen, no serverAuth) logs why and
// never answers.
func helloTimeout(addr, listen string, withTLS bool, err error) error {
	if !withTLS {
		return fmt.Errorf("node %s did not answer the hello within the dial timeout: it may be frozen (e.g. SIGSTOP), overloaded or unreachable, or not an exo-actors node; check the node's process and log, or allow more time (--timeout on the command line): %w", addr, err)
	}
	host, _, _ := net.SplitHostPort(listen)
	return fmt.Errorf("node %s did not answer the hello within the dial timeout: it may be frozen or overloaded, or it could not connect back to this client's listener %s (the node sends its answers over a connection it dials to the client, so this client's certificate must name IP %s in its subjectAltName and allow both serverAuth and clientAuth; the node's log says why, e.g. \"x509: cannot validate certificate … doesn't contain any IP SANs\"): %w", addr, listen, host, err)
}

// probeDeadline is how long probe waits for the node's first answer: until
// ctx's deadline, or 5 s (Dial's default) when ctx has none.
func probeDeadline(ctx context.Context) time.Time {
	if dl, ok := ctx.Deadline(); ok {
		return dl
	}
	return time.Now().Add(5 * time.Second)
}

// isTimeout reports whether err is a network timeout (a deadline set on
// the connection passed).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// notPlaintextGRPC is probe's error when what answered the HTTP/2 preface
// of a plaintext dial is no plaintext gRPC server: b are the n bytes read,
// readErr why the read ended (nil: it read enough). TLS is suggested only
// when the answer is a TLS record, or when the peer closed without a word
// and a TLS handshake with it works (isTLS).
func notPlaintextGRPC(addr string, b []byte, readErr error, isTLS func() bool) error {
	const useTLS = "dial it with TLS (WithTLS; --tls-ca, --tls-cert and --tls-key on the command line)"
	switch {
	case len(b) >= 2 && (b[0] == 0x15 || b[0] == 0x16) && b[1] == 0x03:
		return errjoin.Tag(ErrTLS, fmt.Errorf("node %s answered with TLS: it uses TLS; %s", addr, useTLS))
	case len(b) == 0 && isTLS():
		return errjoin.Tag(ErrTLS, fmt.Errorf("node %s closed the plaintext connection and accepts a TLS handshake: it uses TLS; %s", addr, useTLS))
	case len(b) == 0:
		why := "it closed the connection without a word"
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			why = fmt.Sprintf("the read failed: %v", readErr)
		}
		return errjoin.Tag(ErrNotANode, fmt.Errorf("%s does not answer as an exo-actors node (%s): check the address (--node on the command line), and whether the node uses TLS", addr, why))
	case strings.HasPrefix(string(b), "HTTP/"):
		return errjoin.Tag(ErrNotANode, fmt.Errorf("%s is an HTTP server, not an exo-actors node (it answered %q): check the address and port (--node on the command line)", addr, b))
	}
	return errjoin.Tag(ErrNotANode, fmt.Errorf("%s does not answer as an exo-actors node (its first bytes %q are no gRPC frame): check the address and port (--node on the command line)", addr, b))
}

// speaksTLS reports whether addr completes (or refuses with a TLS alert) a
// TLS handshake: only to explain a plaintext dial that got nothing back.
// Nothing is sent after the handshake; the certificate is not checked.
func speaksTLS(ctx context.Context, addr string) bool {
	ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	td := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}}} //nolint:gosec // a diagnostic handshake; no data is sent
	conn, err := td.DialContext(ctx, "tcp", addr)
	if err == nil {
		conn.Close()
		return true
	}
	return remoteAlert(err) != ""
}

// remoteAlert returns the TLS alert the peer sent ("tls: bad certificate"),
// or "".
func remoteAlert(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil {
		return oe.Err.Error()
	}
	return ""
}

// refusedClientCert says whether a TLS error is the node's refusal of this
// client's certificate: none given, or not signed by a CA the node trusts.
// (A Go client offers only a certificate issued by a CA the node lists, so
// a certificate from another CA shows as "certificate required".)
func refusedClientCert(err error) bool {
	switch remoteAlert(err) {
	case "tls: certificate required", "tls: bad certificate", "tls: unknown certificate authority", "tls: certificate unknown":
		return true
	}
	return false
}

const useNodeCA = "use a certificate and key signed by the CA the node trusts (TLSFiles.CertFile and KeyFile; --tls-cert and --tls-key on the command line)"

// tlsDialFailed is probe's error when the TLS handshake fails.
// Every failure but the TCP connect's (no node reached: ErrNodeLost) is
// ErrTLS.
func tlsDialFailed(addr string, err error) error {
	e := tlsDialFailedText(addr, err)
	if isUnreachable(e) || errors.Is(e, ErrNotANode) {
		return e
	}
	return errjoin.Tag(ErrTLS, e)
}

func tlsDialFailedText(addr string, err error) error {
	var rh tls.RecordHeaderError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	var oe *net.OpError
	switch {
	case errors.As(err, &oe) && oe.Op == "dial":
		// The TCP connection failed: no handshake took place.
		return cannotConnect(addr, err)
	case errors.As(err, &rh) && strings.HasPrefix(string(rh.RecordHeader[:]), "HTTP/"):
		// A plaintext HTTP server answered the handshake: not a node at
		// all, whatever the TLS setup (a new user's trial was told to
		// drop TLS first).
		return errjoin.Tag(ErrNotANode, fmt.Errorf("%s is an HTTP server, not an exo-actors node (it answered the TLS handshake with %q): check the address and port (--node on the command line)", addr, rh.RecordHeader[:]))
	case errors.As(err, &rh):
		return fmt.Errorf("node %s appears to be plaintext: it answered the TLS handshake with bytes that are not TLS (%w); dial it without TLS (no WithTLS; leave out --tls-ca, --tls-cert and --tls-key)", addr, err)
	case errors.As(err, &ua):
		return fmt.Errorf("this client does not trust node %s: the node's certificate is not signed by the CA this client was given (%w); give the CA that signed the node's certificate (TLSFiles.CAFile; --tls-ca on the command line)", addr, err)
	case errors.As(err, &hn):
		return fmt.Errorf("node %s's certificate is not valid for that address (%w); dial an address the certificate names (its IP or DNS SANs), or reissue it with this one", addr, err)
	case errors.As(err, &ci):
		return fmt.Errorf("node %s's certificate is not valid (%w); renew or reissue it", addr, err)
	case refusedClientCert(err):
		return fmt.Errorf("node %s refused this client's certificate during the handshake (%w): it was not signed by the CA the node trusts, or none was given, or its extended key usages lack clientAuth; %s", addr, err, useNodeCA)
	}
	return fmt.Errorf("TLS handshake with node %s failed: %w", addr, err)
}

// tlsRefusedAfterHandshake is probe's error when the node closes the
// connection right after the handshake (TLS 1.3 checks the client's
// certificate only then).
func tlsRefusedAfterHandshake(addr string, err error) error {
	return errjoin.Tag(ErrTLS, tlsRefusedAfterHandshakeText(addr, err))
}

func tlsRefusedAfterHandshakeText(addr string, err error) error {
	if refusedClientCert(err) {
		return fmt.Errorf("node %s refused this client's certificate (%w): it was not signed by the CA the node trusts, or none was given, or its extended key usages lack clientAuth; %s", addr, err, useNodeCA)
	}
	return fmt.Errorf("TLS connection to node %s closed right after the handshake (%w); check that the node's CA, certificate and key match this client's", addr, err)
}

// CheckNodeAddr checks a node address as Dial does before it dials: the
// HOST:PORT the node listens on (its "listening on" line), the host an IP
// address. A host name, localhost included, is refused, not resolved: a
// node's address names it in replies, loss notices and a cluster's
// member list, and a name may stand for several addresses (localhost:
// 127.0.0.1 and ::1).
func CheckNodeAddr(addr string) error { return checkNodeAddr(addr) }

func checkNodeAddr(addr string) error {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("node address %q: want the node's HOST:PORT, e.g. 127.0.0.1:7101 (--node on the command line)", addr)
	}
	if net.ParseIP(host) == nil {
		example := "127.0.0.1:7101"
		if host == "localhost" {
			example = net.JoinHostPort("127.0.0.1", p)
		}
		return fmt.Errorf("node address %q: the host must be the IP address the node listens on (its \"listening on\" line), e.g. %s; a name such as %q is not resolved: exo-actors takes node addresses as IPs, which name a node in replies, loss notices and clusters, where a name may stand for several addresses (--node on the command line)", addr, example, host)
	}
	if port, err := strconv.Atoi(p); err != nil || port < 1 || port > 65535 {
		return fmt.Errorf("node address %q: port %q is not 1-65535 (--node on the command line)", addr, p)
	}
	return nil
}

// isUnreachable says whether err is an unreachableError (no node reached).
func isUnreachable(err error) bool {
	var u *unreachableError
	return errors.As(err, &u)
}

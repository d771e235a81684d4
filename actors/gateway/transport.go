package gateway

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/asynkron/protoactor-go/remote"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/exo-actors/exo-actors/internal/errjoin"
	"github.com/exo-actors/exo-actors/internal/remoteopt"
)

// DefaultMaxMessage is the default largest request a gateway accepts (and
// a client sends): 4 MiB. The gRPC transport's own limit is set above it
// (see Transport.grpcLimit), so an oversized request is answered with
// ErrMessageTooLarge instead of dropping the connection.
const DefaultMaxMessage = 4 << 20

// TLSFiles names the PEM files of a TLS setup. Every process of a
// deployment is both a gRPC server and a gRPC client (protoactor remote
// sends replies over a connection the receiver dials back), so each side
// needs a certificate of its own and the CA that signed the others'.
type TLSFiles struct {
	CAFile   string // the CA that signs every peer's certificate
	CertFile string // this process's certificate (IP SAN 127.0.0.1 or its host)
	KeyFile  string
	// RequireClientCert turns on mutual TLS: a peer that dials in must
	// present a certificate signed by CAFile.
	RequireClientCert bool
}

// Enabled reports whether any file is set.
func (f TLSFiles) Enabled() bool { return f.CAFile != "" || f.CertFile != "" || f.KeyFile != "" }

// Configs loads the files and returns the server and client TLS configs.
func (f TLSFiles) Configs() (server, client *tls.Config, err error) {
	if err := f.missing(); err != nil {
		return nil, nil, err
	}
	if err := f.unreadable(); err != nil {
		return nil, nil, err
	}
	pem, err := os.ReadFile(f.CAFile)
	if err != nil {
		return nil, nil, fmt.Errorf("TLS CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, nil, fmt.Errorf("TLS CA %s: no PEM certificate in it", f.CAFile)
	}
	cert, err := tls.LoadX509KeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		// "does not match public key": another key of the same type;
		// "private key type does not match public key type": a key of
		// another type (an RSA key for an EC certificate). Same advice.
		if strings.Contains(err.Error(), "private key does not match public key") || strings.Contains(err.Error(), "private key type does not match public key type") {
			return nil, nil, fmt.Errorf("TLS certificate %s / key %s: %w: the key is not the one the certificate was issued for; give the key file made with this certificate (or the certificate signed for this key)", f.CertFile, f.KeyFile, err)
		}
		return nil, nil, fmt.Errorf("TLS certificate %s / key %s: %w", f.CertFile, f.KeyFile, err)
	}
	server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if f.RequireClientCert {
		server.ClientAuth = tls.RequireAndVerifyClientCert
		server.ClientCAs = pool
	}
	client = &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}
	return server, client, nil
}

// TLSFilesMissingError is Configs' error when some of the three files are
// set and others are not. Its text names the TLSFiles fields (Go callers
// set those); a command line maps Missing to its own flag names.
type TLSFilesMissingError struct {
	Missing []string // the empty fields, among "CAFile", "CertFile", "KeyFile"
}

// Error names the empty fields and what to do.
func (e *TLSFilesMissingError) Error() string {
	return fmt.Sprintf("TLS needs all three of TLSFiles.CAFile, CertFile and KeyFile, but %s %s empty; set %s, or none of the three for plaintext",
		joinAnd(e.Missing), isAre(len(e.Missing)), itThem(len(e.Missing)))
}

// unreadable names every one of the three files that cannot be opened,
// at once: an operator's trial with all three paths wrong was told of the
// CA only, then of the next on the next try.
func (f TLSFiles) unreadable() error {
	var errs []error
	for _, x := range []struct{ what, path string }{{"TLS CA", f.CAFile}, {"TLS certificate", f.CertFile}, {"TLS key", f.KeyFile}} {
		fh, err := os.Open(x.path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", x.what, err))
			continue
		}
		_ = fh.Close()
	}
	return errjoin.OneLine(errs...)
}

func (f TLSFiles) missing() error {
	var m []string
	for _, x := range []struct{ name, v string }{{"CAFile", f.CAFile}, {"CertFile", f.CertFile}, {"KeyFile", f.KeyFile}} {
		if x.v == "" {
			m = append(m, x.name)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return &TLSFilesMissingError{Missing: m}
}

// joinAnd joins names as "a", "a and b" or "a, b and c".
func joinAnd(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	out := names[0]
	for _, n := range names[1 : len(names)-1] {
		out += ", " + n
	}
	return out + " and " + names[len(names)-1]
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func itThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// Transport is what a process's protoactor remote needs: where to listen,
// TLS (nil: plaintext) and the message size limit.
type Transport struct {
	// Listen is host:port; the host must be an IP address. Loopback is the
	// default of every command and of runtime.Dial.
	Listen     string
	ServerTLS  *tls.Config
	ClientTLS  *tls.Config
	MaxMessage int // 0: DefaultMaxMessage
}

func (t Transport) maxMessage() int {
	if t.MaxMessage <= 0 {
		return DefaultMaxMessage
	}
	return t.MaxMessage
}

// grpcLimit is the transport's limit: room for a batch of messages
// around one request at the application limit. A request over the
// application limit but under this one is refused with an error; one over
// this limit breaks the connection (protoactor remote then reports the
// endpoint terminated), which is why the client checks the limit before
// sending.
func (t Transport) grpcLimit() int { return GRPCLimit(t.maxMessage()) }

// GRPCLimit is the transport limit (one gRPC message, a whole batch of
// protoactor messages) of a process whose max_message is maxMessage (0:
// DefaultMaxMessage).
func GRPCLimit(maxMessage int) int {
	if maxMessage <= 0 {
		maxMessage = DefaultMaxMessage
	}
	return 2*maxMessage + 1<<20
}

// SplitListen parses Listen into host and port, with a clear error.
func SplitListen(listen string) (string, int, error) {
	host, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("listen address %q: want HOST:PORT, e.g. 127.0.0.1:7101", listen)
	}
	if net.ParseIP(host) == nil {
		return "", 0, fmt.Errorf("listen address %q: the host must be an IP address, e.g. 127.0.0.1", listen)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("listen address %q: port %q is not 0-65535", listen, p)
	}
	return host, port, nil
}

// RemoteConfig returns the protoactor remote configuration of t: gRPC
// server and dial options with TLS (both sides, see TLSFiles) and the
// message size limits, and a small first queue for each peer's endpoint
// writer (remoteopt.WriterQueue). Each remote With… option is applied once (a
// second call would replace the first).
func (t Transport) RemoteConfig() (*remote.Config, error) {
	host, port, err := SplitListen(t.Listen)
	if err != nil {
		return nil, err
	}
	lim := t.grpcLimit()
	srv := []grpc.ServerOption{grpc.MaxRecvMsgSize(lim), grpc.MaxSendMsgSize(lim)}
	dial := []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(lim), grpc.MaxCallSendMsgSize(lim))}
	if t.ServerTLS != nil {
		srv = append(srv, grpc.Creds(credentials.NewTLS(t.ServerTLS)))
	}
	if t.ClientTLS != nil {
		dial = append(dial, grpc.WithTransportCredentials(credentials.NewTLS(t.ClientTLS)))
	} else {
		dial = append(dial, grpc.WithTransportCredentials(insecure.NewCredentials()))
	}
	cfg := remote.Configure(host, port, remote.WithServerOptions(srv...), remote.WithDialOptions(dial...), remoteopt.WriterQueue())
	cfg.MaxRetryCount = writerConnectAttempts
	return cfg, nil
}

// writerConnectAttempts is how often protoactor's endpoint writer tries to
// connect to a peer before it gives the address up (EndpointTerminated).
// At our pin each failed attempt after the first leaks a grpc.ClientConn
// (endpointWriter.initializeInternal overwrites state.conn without closing
// it; only the last one is closed when the writer stops) and sleeps 2s
// inside the actor. A message to a peer that went away (a client's
// goodbye, a reply to a client that exited) starts such a writer, so with
// protoactor's default of 5 every departed peer left 4 reconnecting
// ClientConns behind, for good: found by exo-actors chaos as goroutines
// left after the run (docs/reliability.md, TestChaosSeed7DepartedPeerLeaksGRPCConns).
// One attempt leaks nothing; a live peer answers the first attempt (the
// gRPC call waits while the connection is still connecting).
const writerConnectAttempts = 1

// StartRemote starts r, turning protoactor's panic on a failed listen
// into an error.
func StartRemote(r *remote.Remote) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = startRemoteError(p)
		}
	}()
	r.Start()
	return nil
}

package gateway

import (
	"fmt"
	"strings"
	"syscall"

	"github.com/exo-actors/exo-actors/internal/httpapi"
)

// quietError is an error that matches its sentinel (errors.Is, and so its
// wire code) without printing the sentinel's text: the text alone says what
// was wrong and what to do.
type quietError struct {
	sentinel error
	msg      string
}

func (e *quietError) Error() string { return e.msg }
func (e *quietError) Unwrap() error { return e.sentinel }

// errNoRemoteShutdown refuses GwShutdown and GwShutdownPhase on a node that
// does not accept them. It wraps ErrUnsupported (its wire code); the client
// prints it after "node NAME: ".
func errNoRemoteShutdown() error {
	return &quietError{sentinel: ErrUnsupported,
		msg: "this node does not accept remote shutdown: it was started with --allow-remote-shutdown=false (ServeConfig.AllowShutdown false); stop it with SIGTERM on its host"}
}

// startRemoteError turns protoactor's panic on a failed listen ("failed to
// listen: listen tcp ADDR: bind: address already in use") into an error.
// An address in use wraps syscall.EADDRINUSE, and an address no interface
// of this host has ("bind: cannot assign requested address")
// syscall.EADDRNOTAVAIL, so a command line can name its own flag.
func startRemoteError(p any) error {
	text := fmt.Sprint(p)
	addr := "the listen address"
	if _, rest, ok := strings.Cut(text, "listen tcp "); ok {
		if a, _, ok := strings.Cut(rest, ": "); ok {
			addr = a
		}
	}
	switch {
	case strings.Contains(text, "address already in use"):
		return &quietError{sentinel: syscall.EADDRINUSE,
			msg: fmt.Sprintf("cannot listen on %s: another process (another node?) listens there; pick another port or stop that process", addr)}
	case strings.Contains(text, "cannot assign requested address"):
		return &quietError{sentinel: syscall.EADDRNOTAVAIL,
			msg: fmt.Sprintf("cannot listen on %s: %s", addr, httpapi.NotThisHost(addr, ""))}
	}
	return fmt.Errorf("cannot start the node's gRPC listener (protoactor remote): %s", text)
}

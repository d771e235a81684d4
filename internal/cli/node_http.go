package cli

import (
	"fmt"
	"net"

	"github.com/spf13/pflag"

	"github.com/exo-actors/exo-actors/internal/httpapi"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// httpOptions are the --http flags of `exo-actors node`: the node's
// /healthz, /readyz, /metrics and /status endpoints (internal/httpapi), as
// `exo-actors demo --http` serves them.
type httpOptions struct {
	addr        string // --http: serve the endpoints on this address
	allowRemote bool   // --http-allow-remote: allow a non-loopback --http host
}

// addNodeHTTPFlags registers the node's --http and --http-allow-remote.
func addNodeHTTPFlags(f *pflag.FlagSet, o *httpOptions) {
	f.StringVar(&o.addr, "http", "", "serve /healthz /readyz /metrics /status on `ADDR` (loopback, e.g. 127.0.0.1:9464; :PORT means 127.0.0.1:PORT, port 0 any; the address is printed)")
	addHTTPAllowRemoteFlag(f, &o.allowRemote)
}

// addHTTPAllowRemoteFlag registers --http-allow-remote (node and demo).
func addHTTPAllowRemoteFlag(f *pflag.FlagSet, allow *bool) {
	f.BoolVar(allow, "http-allow-remote", false, "with --http: allow an address that is not loopback (the endpoints have no authentication)")
}

// checkHTTP refuses a bad --http address before anything starts.
func (o nodeOptions) checkHTTP() error { return checkHTTPFlag(o.http.addr, o.http.allowRemote) }

// checkHTTPFlag is the check of --http and --http-allow-remote, for the
// node and the demo: a host:port, on loopback unless allowed. As --ui's
// check does, it refuses a host that is not loopback: the endpoints have no
// authentication and /status shows pids, error messages and alerts.
func checkHTTPFlag(addr string, allowRemote bool) error {
	if addr == "" {
		if allowRemote {
			return usageErrorf("--http-allow-remote needs --http ADDR")
		}
		return nil
	}
	if _, err := httpapi.ListenAddr(addr); err != nil {
		return &UsageError{Err: fmt.Errorf("--http: %w", err)}
	}
	if host, _, _ := net.SplitHostPort(addr); !allowRemote && !httpapi.LoopbackHost(host) {
		return usageErrorf("--http %s: the host is not loopback, and the endpoints have no authentication (/status shows pids, errors and alerts); "+
			"use 127.0.0.1 or localhost, or allow it explicitly with --http-allow-remote", addr)
	}
	return nil
}

// healthConfig is the node's health configuration: the defaults, and the
// endpoints when --http was given.
func (o httpOptions) healthConfig() exo.HealthConfig {
	return exo.HealthConfig{HTTP: exo.HTTPConfig{Addr: o.addr}}
}

// startError is what the command says when exo.New failed; prefix names
// the node ("node NAME: ").
func (o httpOptions) startError(prefix string, err error) error {
	return fmt.Errorf("%s%w", prefix, err)
}

// printNodeHTTP prints where the endpoints listen (after the listen line),
// when --http was given.
func printNodeHTTP(e *env, sys *exo.System, o nodeOptions) {
	if a := sys.HTTPAddr(); a != "" {
		fmt.Fprintf(e.stdout, "node %s HTTP endpoints on http://%s (/healthz /readyz /metrics /status; exo-actors status --addr %s)\n", o.name, a, a)
	}
}

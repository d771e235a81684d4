package cli

import (
	"fmt"

	"github.com/spf13/pflag"

	"github.com/exo-actors/exo-actors/internal/httpapi"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// httpOptions are the --http flags of `exo-actors node`: the node's
// /healthz, /readyz, /metrics and /status endpoints (internal/httpapi), as
// `exo-actors demo --http` serves them.
type httpOptions struct {
	addr string // --http: serve the endpoints on this address
}

// addNodeHTTPFlags registers the node's --http.
func addNodeHTTPFlags(f *pflag.FlagSet, o *httpOptions) {
	f.StringVar(&o.addr, "http", "", "serve /healthz /readyz /metrics /status on `ADDR` (e.g. 127.0.0.1:9464; :PORT means 127.0.0.1:PORT, port 0 any; the address is printed)")
}

// checkHTTP refuses a malformed --http address before anything starts.
func (o nodeOptions) checkHTTP() error {
	if o.http.addr == "" {
		return nil
	}
	if _, err := httpapi.ListenAddr(o.http.addr); err != nil {
		return &UsageError{Err: fmt.Errorf("--http: %w", err)}
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

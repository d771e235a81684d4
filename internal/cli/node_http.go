package cli

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/exo-actors/exo-actors/internal/httpapi"
	"github.com/exo-actors/exo-actors/internal/httpserve"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// httpOpts are the --http flags of `exo-actors node`: the node's
// /healthz, /readyz, /metrics and /status endpoints (internal/httpapi), as
// `exo-actors demo --http` serves them.
type httpOpts struct {
	addr        string   // --http: serve the endpoints on this address
	allowRemote bool     // --http-allow-remote: allow a non-loopback --http host
	allowHosts  []string // --http-allow-host: Host names answered on loopback (HTTPConfig.AllowHosts)
	webhook     string   // --alert-webhook: POST every alert to this URL
}

// addNodeHTTPFlags registers the node's --http, --http-allow-remote and
// --http-allow-host.
func addNodeHTTPFlags(f *pflag.FlagSet, o *httpOpts) {
	f.StringVar(&o.addr, "http", "", "serve /healthz /readyz /metrics /status on `ADDR` (loopback, e.g. 127.0.0.1:9464; :PORT means 127.0.0.1:PORT, port 0 any; the address is printed)")
	addHTTPAllowFlags(f, &o.allowRemote, &o.allowHosts)
	f.StringVar(&o.webhook, "alert-webhook", "", "POST each alert (health alerts and escalations, JSON) to `URL` (http:// or https://; docs/operations.md, \"Webhook\")")
}

// addHTTPAllowFlags registers --http-allow-remote and --http-allow-host
// (node and demo).
func addHTTPAllowFlags(f *pflag.FlagSet, allow *bool, hosts *[]string) {
	f.BoolVar(allow, "http-allow-remote", false, "with --http: allow an address that is not loopback (the endpoints have no authentication)")
	f.Var(hostsValue{hosts}, "http-allow-host", "with --http on loopback: also answer requests whose Host is `NAME` (repeat, or NAME,NAME), e.g. the name a reverse proxy on this machine passes on; any other name but loopback names and the machine's own gets 403 (a guard against DNS rebinding)")
}

// checkHTTP refuses a bad --http address, or one that clashes with --ui
// or --listen, before anything starts.
func (o nodeOptions) checkHTTP() error {
	if err := checkHTTPFlag(o.http.addr, o.http.allowRemote, o.http.allowHosts); err != nil {
		return err
	}
	if err := exo.CheckWebhookURL(o.http.webhook); err != nil {
		return &UsageError{Err: fmt.Errorf("--alert-webhook %w", err)}
	}
	if err := checkAddrsApart(o.http.addr, "--ui", o.ui.addr); err != nil {
		return err
	}
	return checkAddrsApart(o.http.addr, "--listen", o.listen)
}

// checkHTTPFlag is the check of --http, --http-allow-remote and
// --http-allow-host, for the node and the demo: a host:port, on loopback
// unless allowed. As --ui's check does, it refuses a host that is not
// loopback: the endpoints have no authentication and /status shows pids,
// error messages and alerts.
func checkHTTPFlag(addr string, allowRemote bool, allowHosts []string) error {
	if addr == "" {
		if allowRemote {
			return usageErrorf("--http-allow-remote needs --http ADDR")
		}
		if len(allowHosts) > 0 {
			return usageErrorf("--http-allow-host needs --http ADDR")
		}
		return nil
	}
	for _, h := range allowHosts {
		if err := httpserve.CheckHostName(h); err != nil {
			return &UsageError{Err: fmt.Errorf("--http-allow-host %w", err)}
		}
	}
	if _, err := httpapi.ListenAddr(addr); err != nil {
		return &UsageError{Err: fmt.Errorf("--http: %w", err)}
	}
	host, _, _ := net.SplitHostPort(addr)
	if !allowRemote && !httpserve.LoopbackHost(host) {
		return usageErrorf("--http %s: the host is not loopback, and the endpoints have no authentication (/status shows pids, errors and alerts); "+
			"use 127.0.0.1 or localhost, or allow it explicitly with --http-allow-remote", addr)
	}
	if len(allowHosts) > 0 && !httpserve.LoopbackHost(host) {
		// It would do nothing: off loopback every Host is answered (an
		// operator's trial passed both without a word).
		return usageErrorf("--http-allow-host with --http %s: on an address that is not loopback the endpoints answer every Host; leave --http-allow-host out, or serve on loopback (127.0.0.1) behind the proxy", addr)
	}
	return nil
}

// healthConfig is the node's health configuration: the defaults, and the
// endpoints when --http was given.
func (o httpOpts) healthConfig() exo.HealthConfig {
	// Ready with no runner: its clients place them, and a readiness probe
	// that waited for one would keep every client away (a deadlock).
	return exo.HealthConfig{HTTP: exo.HTTPConfig{Addr: o.addr, NoRunnersNeeded: true, AllowHosts: o.allowHosts}, Webhook: exo.WebhookConfig{URL: o.webhook}}
}

// startError is what the command says when exo.New failed; prefix names
// the node ("node NAME: ") or is empty. Nothing else listens in exo.New, so
// an address in use is --http's.
func (o httpOpts) startError(prefix string, err error) error {
	return httpStartError(prefix, o.addr, err)
}

// httpStartError is startError for the node and the demo.
func httpStartError(prefix, addr string, err error) error {
	if addr != "" && errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s--http %s: the address is in use (another process listens there: a node you stopped holds its ports until it exits, after its shutdown's phases); pick another port with --http (or :0 for any)", prefix, addr)
	}
	if addr != "" && errors.Is(err, syscall.EADDRNOTAVAIL) {
		return fmt.Errorf("%s--http %s: %s", prefix, addr, httpapi.NotThisHost(addr, "--http"))
	}
	return fmt.Errorf("%s%w", prefix, err)
}

// checkAddrsApart refuses --http on the same address as another listening
// flag (--ui, the node's --listen): the second listener would fail and the
// error would name the wrong flag. Port 0 never clashes (each gets its own).
func checkAddrsApart(httpAddr, flag, other string) error {
	if httpAddr == "" || other == "" || !sameListenAddr(httpAddr, other) {
		return nil
	}
	return usageErrorf("--http and %s need different addresses (both %s): give one of them another port", flag, other)
}

// sameListenAddr reports whether listeners on a and b would clash: the same
// port (not 0) on the same host, or on any host when one of them is a
// wildcard (0.0.0.0, ::). An empty host and localhost are 127.0.0.1.
func sameListenAddr(a, b string) bool {
	ha, pa, err1 := net.SplitHostPort(a)
	hb, pb, err2 := net.SplitHostPort(b)
	if err1 != nil || err2 != nil {
		return false
	}
	na, errA := strconv.ParseUint(pa, 10, 16)
	nb, errB := strconv.ParseUint(pb, 10, 16)
	if errA != nil || errB != nil || na == 0 || na != nb {
		return false
	}
	norm := func(h string) net.IP {
		if h == "" || strings.EqualFold(h, "localhost") {
			return net.IPv4(127, 0, 0, 1)
		}
		return net.ParseIP(h)
	}
	ia, ib := norm(ha), norm(hb)
	if ia == nil || ib == nil {
		return strings.EqualFold(ha, hb)
	}
	return ia.Equal(ib) || ia.IsUnspecified() || ib.IsUnspecified()
}

// printNodeHTTP prints where the endpoints listen (after the listen line),
// when --http was given.
func printNodeHTTP(e *env, sys *exo.System, o nodeOptions) {
	if a := sys.HTTPAddr(); a != "" {
		fmt.Fprintf(e.stdout, "node %s HTTP endpoints on http://%s (/healthz /readyz /metrics /status; exo-actors status --addr %s)\n", o.name, a, a)
	}
}

package cli

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/spf13/pflag"

	"github.com/exo-actors/exo-actors/internal/httpserve"
	"github.com/exo-actors/exo-actors/internal/sysnode"
	"github.com/exo-actors/exo-actors/internal/webui"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// uiOptions are the web page's flags (internal/webui).
type uiOptions struct {
	addr        string   // --ui: serve the page on this address
	actions     bool     // --ui-actions: enable the fault and stop buttons
	allowRemote bool     // --ui-allow-remote: allow a non-loopback --ui address
	allowHosts  []string // --ui-allow-host: Host names the page answers on loopback (webui.Config.AllowHosts)
}

// addUIFlags registers --ui, --ui-actions and --ui-allow-remote; `exo-actors
// node` can register the same.
func addUIFlags(f *pflag.FlagSet, o *uiOptions) {
	f.StringVar(&o.addr, "ui", "", "serve a live web page of the supervision tree on `ADDR` (loopback, e.g. 127.0.0.1:8080)")
	f.BoolVar(&o.actions, "ui-actions", false, "with --ui: enable the page's buttons that inject a fault into a runner or stop it")
	f.BoolVar(&o.allowRemote, "ui-allow-remote", false, "with --ui: allow an address that is not loopback (anyone who reaches it sees the node), and turn off the page's Host check (every Host is answered, also on loopback)")
	f.Var(hostsValue{&o.allowHosts}, "ui-allow-host", "with --ui on loopback: also answer requests whose Host is `NAME` (repeat, or NAME,NAME), e.g. the name a reverse proxy on this machine passes on; any other name but loopback names and the machine's own gets 403 (a guard against DNS rebinding)")
}

func (o uiOptions) check() error {
	if o.addr == "" {
		if o.actions || o.allowRemote || len(o.allowHosts) > 0 {
			return usageErrorf("--ui-actions, --ui-allow-remote and --ui-allow-host need --ui ADDR")
		}
		return nil
	}
	if _, err := webui.CheckAddr(o.addr, o.allowRemote); err != nil {
		return &UsageError{Err: fmt.Errorf("--ui: %w", err)}
	}
	if host, _, _ := net.SplitHostPort(o.addr); len(o.allowHosts) > 0 && !httpserve.LoopbackHost(host) {
		return usageErrorf("--ui-allow-host with --ui %s: on an address that is not loopback the page answers every Host; leave --ui-allow-host out, or serve the page on loopback (127.0.0.1) behind the proxy", o.addr)
	}
	if len(o.allowHosts) > 0 && o.allowRemote {
		return usageErrorf("--ui-allow-host with --ui-allow-remote: --ui-allow-remote turns the page's Host check off (every Host is answered); keep the check and name the proxy's host with --ui-allow-host alone, or leave --ui-allow-host out")
	}
	return nil
}

// config is the page's configuration; program names what serves it ("the
// demo", "the node") in the refusal of an action while the buttons are off.
func (o uiOptions) config(program string) webui.Config {
	return webui.Config{Addr: o.addr, Actions: o.actions, AllowRemote: o.allowRemote, AllowHosts: o.allowHosts, Program: program}
}

// startUI serves the page of sys when --ui was given (nil, nil otherwise).
func startUI(e *env, w *demoWatch, sys *exo.System, o uiOptions) (*webui.Server, error) {
	if o.addr == "" {
		return nil, nil
	}
	srv, err := webui.Start(webui.NodeOf(sysnode.Of(sys)), o.config("the demo"), e.logger)
	if err != nil {
		return nil, fmt.Errorf("--ui: %w", uiStartError(o.addr, err))
	}
	w.printf("== web page of the supervision tree: %s (%s)\n", srv.URL(), o.buttonsNote())
	return srv, nil
}

// buttonsNote says whether the page's buttons are on, for the startup line.
func (o uiOptions) buttonsNote() string {
	if o.actions {
		return "buttons on: crash, hang, garbage, stop"
	}
	return "buttons off (--ui-actions enables them)"
}

// stopUI stops the page's server after the node's shutdown, so the page
// shows the shutdown to the end.
func stopUI(srv *webui.Server) error {
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// holdUI keeps the page up after the scenario: for --hold when given, else
// until the first SIGINT, SIGTERM or SIGHUP (which cancels ctx). It reports whether
// that signal was the expected end of an open-ended hold, which is then no
// failure.
func holdUI(ctx context.Context, w *demoWatch, srv *webui.Server, hold time.Duration) (endedByUser bool) {
	if srv == nil {
		return false
	}
	if hold <= 0 {
		w.printf("\n== the page stays up at %s until Ctrl-C\n", srv.URL())
		<-ctx.Done()
		return true
	}
	w.printf("\n== holding for %s: the page stays up at %s (Ctrl-C ends it)\n", hold, srv.URL())
	t := time.NewTimer(hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

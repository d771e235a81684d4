package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/membership"
	"github.com/exo-actors/exo-actors/internal/httpapi"
	exo "github.com/exo-actors/exo-actors/runtime"
)

type nodeOptions struct {
	listen, name, config string
	tls                  gateway.TLSFiles
	allowShutdown        bool
	allowFaults          bool      // --allow-faults: serve Client.InjectFault (node_ui.go)
	ui                   uiOptions // --ui, --ui-actions, --ui-allow-remote (node_ui.go)
	http                 httpOpts  // --http: /healthz /readyz /metrics /status (node_http.go)
	cluster              clusterFlags
}

func newNodeCmd(e *env) *cobra.Command {
	o := nodeOptions{}
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Run a node: a System whose gateway serves remote clients (runtime.Dial)",
		Long: "node runs an exo-actors System and its gateway actor on protoactor remote (gRPC).\n" +
			"Clients (runtime.Dial, 'exo-actors remote') spawn runners of the kinds the --config file\n" +
			"names — never any other command — submit tasks, stream chunks and events, stop runners.\n" +
			"It listens on loopback unless told otherwise; TLS and mutual TLS with the --tls flags.\n" +
			"SIGINT, SIGTERM or SIGHUP shuts it down gracefully (a second SIGINT or SIGTERM forces; SIGHUP\n" +
			"never does, and under nohup it is ignored); one during a shutdown a client asked for lets it go\n" +
			"on gracefully (a second one forces). See docs/remote.md and docs/operations.md, \"Signals\".\n\n" +
			"Exit codes: 0 a clean shutdown; 1 it failed (or its shutdown returned an error, or it\n" +
			"shut itself down over a node-wide fault: fork failure, out of file descriptors, the\n" +
			"health monitor's node_shutdown_share; it prints 'node N: shut itself down: …');\n" +
			"2 a usage or config error; 3 a second signal forced the shutdown; 4 one signal or a\n" +
			"client's request, but the shutdown was not clean (DRAINING timed out and cut tasks\n" +
			"short, a runner forced; queued tasks cancelled at SIGNALING leave it clean); the line names what to change: a config shutdown.* key only\n" +
			"for a phase that reached its deadline, timeouts.stop_grace for a runner that ignored\n" +
			"its Shutdown frame (fixing the runner when it ignored SIGTERM too), cluster shutdown\n" +
			"--phase-timeout for a cluster's shutdown\n" +
			"(docs/operations.md).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.ui.check(); err != nil {
				return err
			}
			if err := o.checkHTTP(); err != nil { // node_http.go
				return err
			}
			if strings.TrimSpace(o.config) == "" {
				return requiredFlag(cmd.Flags(), "config", "give a JSON file naming the runner kinds this node may start (see docs/remote.md), e.g. --config node.json")
			}
			if o.name == "" {
				return requiredFlag(cmd.Flags(), "name", "give the node's name, e.g. --name node-a")
			}
			if !nodeNameRE.MatchString(o.name) {
				// Names show in logs, reports, metrics labels and the
				// cluster's views: a space or a '!' there is a typo, not
				// a name (a new user's trial: --name "bad name!" was taken).
				return usageErrorf("--name %q: want 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit (e.g. --name node-a)", o.name)
			}
			if _, _, err := gateway.SplitListen(o.listen); err != nil {
				return usageErrorf("--listen: %v", err)
			}
			f, err := os.Open(o.config)
			if err != nil {
				return usageErrorf("--config: %v", err)
			}
			nc, err := parseNodeConfig(f)
			f.Close()
			if err := checkNodeConfig(nc, err, o.config, exec.LookPath); err != nil {
				return configErrorf("--config %s: %v", o.config, err)
			}
			if err := checkTLSFlags(o.tls); err != nil {
				var ue *UsageError
				if errors.As(err, &ue) && ue.SeeAlso == tlsDoc {
					// A file that cannot be loaded: named as the node's,
					// as its certificate's checks below are.
					ue.Err = fmt.Errorf("node %s: %w", o.name, ue.Err)
				}
				return err
			}
			if !o.tls.Enabled() && o.tls.RequireClientCert {
				return usageErrorf("--tls-require-client-cert needs --tls-ca, --tls-cert and --tls-key")
			}
			if o.tls.Enabled() {
				// As the client's own check (remote.go): a certificate
				// peers would refuse is the caller's to fix, exit 2.
				if err := exo.CheckNodeCert(exo.TLSFiles(o.tls), o.listen); err != nil {
					return &UsageError{Err: fmt.Errorf("node %s: %w", o.name, err), SeeAlso: tlsDoc}
				}
			}
			kinds := make([]string, 0, len(nc.kinds))
			for k := range nc.kinds {
				kinds = append(kinds, k)
			}
			ccfg, err := nodeClusterConfig(cmd.Flags(), &o.cluster, o.name, kinds)
			if err != nil {
				return err
			}
			if h := unspecifiedHost(o.listen); ccfg != nil && h != "" {
				// A member advertises its gateway's address to the others
				// and their clients: "[::]:7101" would send every one of
				// them to its own host.
				return usageErrorf("--listen %s with --cluster: a member advertises its gateway address to the others and their clients, and %s is no address to dial; listen on the IP they reach this host at (e.g. --listen 10.0.0.5:7101)", o.listen, h)
			}
			return runNode(e, o, nc, ccfg)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.listen, "listen", "127.0.0.1:7101", "HOST:PORT to listen on (port 0: any; the address is printed)")
	fl.StringVar(&o.name, "name", "", "the node's name (required; letters, digits, '.', '_' or '-', e.g. node-a)")
	fl.StringVar(&o.config, "config", "", "JSON file naming the runner kinds (required)")
	fl.StringVar(&o.tls.CAFile, "tls-ca", "", "PEM CA that signs every peer's certificate (turns TLS on)")
	fl.StringVar(&o.tls.CertFile, "tls-cert", "", "PEM certificate of this node")
	fl.StringVar(&o.tls.KeyFile, "tls-key", "", "PEM key of this node")
	fl.BoolVar(&o.tls.RequireClientCert, "tls-require-client-cert", false, "mutual TLS: refuse peers without a certificate from --tls-ca")
	fl.BoolVar(&o.allowShutdown, "allow-remote-shutdown", true, "let clients shut this node down")
	fl.BoolVar(&o.allowFaults, "allow-faults", false, "let clients inject faults into this node's runners (crash, hang, garbage; Client.InjectFault): for demos and tests only")
	addUIFlags(fl, &o.ui)
	addNodeHTTPFlags(fl, &o.http)
	o.cluster.register(fl, true) // --cluster NAME joins a cluster once the gateway serves (docs/cluster.md)
	return cmd
}

func runNode(e *env, o nodeOptions, nc *nodeConfig, ccfg *membership.Config) error {
	sys, err := exo.New(exo.Config{Logger: e.logger, Tasks: nc.tasks, Timeouts: nc.timeouts, Shutdown: nc.shutdown, ErrorPolicy: nc.policy, Retention: nc.health.retention, Health: nodeHealthConfig(o, nc)}) // nodeconfig_health.go
	if err != nil {
		return o.http.startError(fmt.Sprintf("node %s: ", o.name), err)
	}
	srv, err := sys.Serve(exo.ServeConfig{Listen: o.listen, Name: o.name, Kinds: nc.kinds, TLS: exo.TLSFiles(o.tls), MaxMessage: nc.maxMessage, MaxRunners: nc.maxRunners,
		CancelTasksOnClientLoss: nc.cancelOnLoss, SessionTimeout: nc.sessionTimeout, AllowShutdown: o.allowShutdown,
		Logger: e.logger, Version: Version, InjectFault: nodeFaults(sys, o)})
	if err != nil {
		_, _ = sys.Shutdown(context.Background())
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("node %s: --listen %s: the address is in use (another node or process listens there: a node you stopped holds its ports until it exits, after its shutdown's phases); pick another port with --listen, or stop that process", o.name, o.listen)
		}
		if errors.Is(err, syscall.EADDRNOTAVAIL) {
			return fmt.Errorf("node %s: --listen %s: %s", o.name, o.listen, httpapi.NotThisHost(o.listen, "--listen"))
		}
		return fmt.Errorf("node %s: %w", o.name, err)
	}
	kinds := make([]string, 0, len(nc.kinds))
	for k := range nc.kinds {
		kinds = append(kinds, k)
	}
	tlsNote := "plaintext"
	if o.tls.Enabled() {
		tlsNote = "TLS"
		if o.tls.RequireClientCert {
			tlsNote = "mutual TLS"
		}
	}
	// From the listening line on, SIGINT, SIGTERM and SIGHUP are a
	// graceful shutdown, also while the node still joins its cluster (it
	// is acted on after the join).
	sigs := make(chan os.Signal, 2) // never closed; signal.Stop detaches it
	signal.Notify(sigs, shutdownSignals()...)
	defer signal.Stop(sigs)
	ui, err := startNodeUI(e, sys, o) // node_ui.go
	if err != nil {
		_, _ = sys.Shutdown(context.Background())
		srv.Close()
		return fmt.Errorf("node %s: --ui: %w", o.name, err)
	}
	fmt.Fprintf(e.stdout, "node %s listening on %s (%s; kinds: %s)\n", o.name, listenShown(o.listen, srv.Addr()), tlsNote, strings.Join(sortedStrings(kinds), ", "))
	printNodeHTTP(e, sys, o) // node_http.go
	printNodeUI(e, ui, o)
	var member *nodeMember
	if ccfg != nil {
		member, err = joinNodeCluster(*ccfg, srv.Addr(), e)
		if err != nil {
			_ = stopUI(ui)
			_, _ = sys.Shutdown(context.Background())
			srv.Close()
			return fmt.Errorf("node %s: %w", o.name, err)
		}
		fmt.Fprintf(e.stdout, "node %s joined cluster %s (%s) as member %s\n", o.name, ccfg.Cluster, ccfg.Provider, member.m.Self())
		warnAloneInEtcd(e, *ccfg) // node_cluster.go
	}

	var interrupted bool
	var fault error // the node-wide fault that made the node shut itself down
	select {
	case sig := <-sigs:
		interrupted = true
		fmt.Fprint(e.stdout, firstSignalLine(sig))
	case <-sys.ShutdownBegan(): // a client's request or a node-wide fault: leave the cluster now, not after it
		// A fault is recorded before the shutdown it begins (Node.onNodeFault).
		fault = sys.Fault()
		fmt.Fprint(e.stdout, nodeShutdownBeganLine(fault))
	}
	if member != nil {
		// Leave before the System shuts down: the others drop this node
		// at once instead of after the detection bound. Say first that it
		// shuts down: a ClusterClient that sees it leave asks, and then
		// follows its tasks while it drains.
		srv.Leaving()
		if err := member.leave(); err != nil {
			fmt.Fprintf(e.stdout, "node %s: leaving cluster %s: %v\n", o.name, ccfg.Cluster, err)
		} else {
			fmt.Fprintf(e.stdout, "node %s left cluster %s\n", o.name, ccfg.Cluster)
		}
	}
	// The page goes before the System: no request reaches a node that is
	// shutting down, and no listener or goroutine of it outlives the node.
	if err := stopUI(ui); err != nil {
		e.logger.WithError(err).Warn("node: stopping the web page")
	}
	byClient := !interrupted && fault == nil // a client asked (remote shutdown, cluster shutdown)
	if !interrupted {
		// Begun by a client or a fault, maybe stepped (a cluster-wide
		// shutdown asks phase by phase): let it run its course, since
		// Shutdown here would run the phases not asked for yet. A first
		// signal meanwhile does not cut it: it goes on gracefully (and
		// runs the phases not asked for yet) — a supervisor's stop
		// (systemd sends SIGTERM) of a node already draining for a client
		// must not cut its tasks; a second signal forces.
		select {
		case <-sys.Done():
		case sig := <-sigs:
			interrupted = true
			fmt.Fprint(e.stdout, nodeSignalDuringLine(sig, fault))
		}
	}
	stopForce := make(chan struct{})
	forced := false // set by the forcer, read after forcer.Wait
	var forcer sync.WaitGroup
	if interrupted { // else the shutdown has ended (sys.Done): nothing left to force
		forcer.Add(1)
		go forceOnSecondSignal(e.stdout, sys, sigs, stopForce, &forced, &forcer)
	}
	report, err := sys.Shutdown(context.Background())
	close(stopForce) // sole sender: runNode, once, after the shutdown
	forcer.Wait()
	// Close tells every client that the node shut down (a client that
	// asked for the shutdown gets its report first) and waits up to
	// gateway.RequesterGrace while that client is connected, else up to
	// gateway.CloseGrace for their goodbyes. Before, the node first waited
	// up to 2 s for every session to end, which only the requesting
	// client's did: a client beside it learnt of the shutdown 2 s late.
	// A signal meanwhile ends that wait (before, it was ignored for up to
	// 3 s): the shutdown itself has ended.
	closing := make(chan struct{})
	var skipper sync.WaitGroup
	skipper.Add(1)
	go skipGoodbyesOnSignal(e.stdout, srv, sigs, closing, &skipper)
	srv.Close()
	close(closing) // sole sender: runNode, once, after Close
	skipper.Wait()
	if err == nil {
		fmt.Fprintf(e.stdout, "%s", report)
	}
	cut := "" // what the shutdown cut short and what to change; "" when clean
	if err == nil {
		cut = cutShortWithHint(report, nc.shutdown, nc.timeouts, true) // nodeconfig_shutdown.go
	}
	return nodeShutdownEnd(e.stdout, o.name, byClient, forced, fault, err, cut)
}

// skipGoodbyesOnSignal ends the wait of the node's Close for its clients'
// goodbyes on a signal (the shutdown has ended: nothing else is left to
// force); it returns on closing (Close ended). runNode waits for it (wg);
// it is the only reader of sigs while it runs (the forcer has ended).
func skipGoodbyesOnSignal(w io.Writer, srv *exo.Server, sigs <-chan os.Signal, closing <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	select {
	case sig := <-sigs:
		fmt.Fprintf(w, "== %s: not waiting for the clients' goodbyes (the shutdown has ended)\n", sig)
		srv.SkipGoodbyes()
	case <-closing:
	}
}

// nodeNameRE is what --name accepts.
var nodeNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// forceOnSecondSignal is the forcer of a node's shutdown after a first
// signal: a second SIGINT or SIGTERM prints nodeForceLine, sets *forced
// and calls System.ForceKill (a SIGHUP is noted and forces nothing); it
// returns on stopForce (the shutdown ended). It owns
// nothing it closes; runNode waits for it (wg) before reading *forced.
func forceOnSecondSignal(w io.Writer, sys *exo.System, sigs <-chan os.Signal, stopForce <-chan struct{}, forced *bool, wg *sync.WaitGroup) {
	defer wg.Done()
	var sig os.Signal
	for sig == nil {
		select {
		case s := <-sigs:
			if !forces(s) {
				fmt.Fprint(w, unforcingLine(s))
				continue
			}
			sig = s
		case <-stopForce:
			return
		}
	}
	select {
	case <-sys.Done(): // the shutdown ended just now: nothing left to force
		return
	default:
	}
	fmt.Fprint(w, nodeForceLine(sig))
	*forced = true
	// Kill once the shutdown has begun (at once: runNode's next call), so
	// that the node names it a forced shutdown whichever runner the
	// SIGNALING phase had reached.
	select {
	case <-sys.ShutdownBegan():
	case <-stopForce:
	}
	fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, _ = sys.ForceKill(fctx)
	cancel()
}

// nodeShutdownBeganLine is the line of a shutdown the node did not begin
// on a signal: a client's (remote shutdown, cluster shutdown), or its
// own after a node-wide fault (System.Fault: a fork that failed, out of
// file descriptors, the health monitor's node_shutdown_share).
func nodeShutdownBeganLine(fault error) string {
	if fault != nil {
		return "== shutting down: node-wide fault: " + oneLine(fault.Error()) + "\n"
	}
	return "== shut down by a client\n"
}

// nodeShutdownEnd prints how a node's shutdown ended and returns its exit:
// nil (exit 0) after a graceful one, the interrupted error (exit 3, as
// demo's forced shutdown) when a second signal forced it — also when the
// shutdown returned an error (shutErr), which the exit's text then names:
// a forced shutdown exits 3 whatever else went wrong, so a supervisor
// script can tell it from a clean stop and from a failure. An unforced
// shutdown that returned an error exits 1. A shutdown that ran to its end
// but cut something short (cutShort, shutdownCutShort's line; empty:
// clean) exits 4 (ExitUnclean), whether a signal or a client asked for it;
// a clean one says "shut down gracefully" and exits 0. byClient says a
// client asked for it (remote shutdown, cluster shutdown): the line then
// says "(asked by a client)", also when a first signal came during it
// (that signal lets it go on gracefully; before, the line then dropped who
// asked). A node that shut itself down over a node-wide fault (fault,
// System.Fault) says so, "shut itself down: …", and exits 1 however the
// shutdown went, also when a signal came during it, so that a supervisor's
// restart-on-failure restarts it; only a forced one exits 3. The lines of
// those three ends say it all (a forced one says how it was forced and
// what else the shutdown reported): they come back as saidError, so that
// main does not print them again on stderr (before, a forced end said
// "shutdown forced" on stdout and again, with how, on stderr).
func nodeShutdownEnd(w io.Writer, name string, byClient, forced bool, fault, shutErr error, cutShort string) error {
	switch {
	case forced:
		msg := "node " + name + ": shutdown forced (SIGKILL to every runner's process group): interrupted twice"
		switch {
		case fault != nil:
			msg += " during the shutdown it began after a node-wide fault (" + oneLine(fault.Error()) + ")"
		case byClient:
			msg += " during the shutdown a client asked for"
		}
		if shutErr != nil {
			msg += "; the shutdown also reported: " + oneLine(shutErr.Error())
		}
		fmt.Fprintln(w, msg)
		return &saidError{&interruptedError{msg: msg}}
	case fault != nil:
		msg := "node " + name + ": shut itself down: node-wide fault: " + oneLine(fault.Error())
		switch {
		case shutErr != nil:
			msg += "; the shutdown also reported: " + oneLine(shutErr.Error())
		case cutShort != "":
			msg += "; not cleanly: " + cutShort
		}
		fmt.Fprintln(w, msg)
		return &saidError{errors.New(msg)}
	case shutErr != nil:
		return fmt.Errorf("node %s: shutdown: %w", name, shutErr)
	}
	by := "" // who asked, when it was not a signal
	if byClient {
		by = " (asked by a client)"
	}
	if cutShort != "" {
		msg := "node " + name + ": shut down" + by + ", not cleanly: " + cutShort
		fmt.Fprintln(w, msg)
		return &saidError{&uncleanError{msg: msg}}
	}
	fmt.Fprintf(w, "node %s: shut down gracefully%s\n", name, by)
	return nil
}

// nodeSignalDuringLine is the line of a first signal during a shutdown the
// node did not begin on a signal (a client's, or its own after a
// node-wide fault): the shutdown goes on gracefully, and a second signal
// forces it. Before, it said "== terminated: graceful shutdown (send it
// again to force)" as if the signal had begun it, and the docs said it
// forced the shutdown.
func nodeSignalDuringLine(sig os.Signal, fault error) string {
	during := "the shutdown a client asked for"
	if fault != nil {
		during = "the shutdown after a node-wide fault"
	}
	return fmt.Sprintf("== %s during %s: it goes on gracefully (%s)\n", sig, during, forceHint(sig))
}

// nodeForceLine is the line of the second signal, which forces the node's
// shutdown (the first one began it, or came during a shutdown a client or
// a fault began, which it let go on).
func nodeForceLine(sig os.Signal) string {
	return fmt.Sprintf("== second %s: forcing — SIGKILL to every runner's process group\n", sig)
}

func sortedStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// unspecifiedHost returns listen's host when it is 0.0.0.0 or :: (every
// interface), else "".
func unspecifiedHost(listen string) string {
	h, _, err := net.SplitHostPort(listen)
	if ip := net.ParseIP(h); err == nil && ip != nil && ip.IsUnspecified() {
		return h
	}
	return ""
}

// listenShown is the address of the listening line: the one the node
// listens on, or for every interface (--listen 0.0.0.0:P) that, with what
// a client dials instead. Before, such a node printed "[::]:P"
// (protoactor's address of the listener) after a warning that said
// 0.0.0.0, and neither is an address to dial.
func listenShown(listen, addr string) string {
	h := unspecifiedHost(listen)
	if h == "" {
		return addr
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	return fmt.Sprintf("%s (every interface: clients dial one of this host's IP addresses, e.g. %s)", net.JoinHostPort(h, port), net.JoinHostPort("127.0.0.1", port))
}

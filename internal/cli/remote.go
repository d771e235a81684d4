package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/internal/errjoin"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// remoteOptions are the flags every `exo-actors remote` command shares.
type remoteOptions struct {
	nodes   []string
	tls     gateway.TLSFiles
	timeout time.Duration
}

func newRemoteCmd(e *env) *cobra.Command {
	o := &remoteOptions{}
	cmd := &cobra.Command{
		Use:   "remote",
		Short: "Talk to running nodes: status, run tasks across them, shut them down",
		Long: "remote is a client of 'exo-actors node' processes (runtime.Dial): status lists each node's\n" +
			"kinds, runners and sessions; run places a runner of a kind on every node, runs tasks\n" +
			"across them and checks every node's tasks stream; stop stops runners by ID or kind;\n" +
			"shutdown shuts nodes down and prints their reports, and for a node whose shutdown was not\n" +
			"clean the line the node prints ('node N: shut down, not cleanly: …; raise …').\n\n" +
			"Exit codes: 0 every node handled; 1 a node failed (unreachable, refused, a task failed);\n" +
			"2 a usage error; 3 run got a signal; 4 shutdown: every node shut down, but one or more\n" +
			"not cleanly (a phase timed out, a task cut short, a runner forced). See docs/remote.md.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	pf := cmd.PersistentFlags()
	pf.Var(addrsValue{&o.nodes, "HOST:PORT", "127.0.0.1:7101"}, "node", "node address HOST:PORT (repeatable or comma-separated)")
	pf.StringVar(&o.tls.CAFile, "tls-ca", "", "PEM CA of the nodes' certificates (turns TLS on)")
	pf.StringVar(&o.tls.CertFile, "tls-cert", "", "PEM certificate of this client")
	pf.StringVar(&o.tls.KeyFile, "tls-key", "", "PEM key of this client")
	pf.DurationVar(&o.timeout, "timeout", 0, "bound on the whole command (0: status 5s, stop 30s, run and shutdown 2m); each dial within it at most 10s")
	cmd.AddCommand(newRemoteStatusCmd(e, o), newRemoteRunCmd(e, o), newRemoteShutdownCmd(e, o), newRemoteStopCmd(e, o))
	for _, c := range cmd.Commands() {
		c.SetFlagErrorFunc(flagError)
	}
	return cmd
}

// dialAll dials every --node; on an error it closes those it dialed.
func (o *remoteOptions) dialAll(ctx context.Context, extra ...exo.DialOption) ([]*exo.Client, error) {
	if err := o.checkNodes(); err != nil {
		return nil, err
	}
	var out []*exo.Client
	for _, addr := range o.nodes {
		c, err := o.dialOne(ctx, addr, extra...)
		if err != nil {
			closeAll(out)
			return nil, fmt.Errorf("dial %s: %w", addr, err)
		}
		out = append(out, c)
	}
	return out, nil
}

func closeAll(cs []*exo.Client) {
	for _, c := range cs {
		c.Close()
	}
}

// Default bounds of the remote commands (--timeout 0 picks them): a status
// is a few calls, a stop waits for the runners' stop escalation, a run
// and a shutdown wait for tasks and shutdown reports.
const (
	statusTimeout   = 5 * time.Second
	stopTimeout     = 30 * time.Second
	longTimeout     = 2 * time.Minute
	nodeDialTimeout = 10 * time.Second // bound on each dial, within the command's
)

// timeoutOr is --timeout, or def when it is 0 (the command's default).
func (o *remoteOptions) timeoutOr(def time.Duration) time.Duration {
	if o.timeout > 0 {
		return o.timeout
	}
	return def
}

// dialOne dials one node within the command's ctx and nodeDialTimeout.
func (o *remoteOptions) dialOne(ctx context.Context, addr string, extra ...exo.DialOption) (*exo.Client, error) {
	opts := append([]exo.DialOption(nil), extra...)
	if o.tls.Enabled() {
		opts = append(opts, exo.WithTLS(exo.TLSFiles(o.tls)))
	}
	dctx, cancel := context.WithTimeout(ctx, nodeDialTimeout)
	defer cancel()
	return exo.Dial(dctx, addr, append(opts, exo.WithClientName("exo-actors remote"))...)
}

// eachNode handles every --node on its own, in parallel, within
// --timeout (def when 0): it dials the node, calls f with a buffer for
// what to print, and closes the client. A node that fails does not stop
// the others: stdout gets every node's output in --node order, stderr one
// line per failure naming its node, and the error says how many failed.
func (o *remoteOptions) eachNode(parent context.Context, e *env, def time.Duration, f func(context.Context, *exo.Client, io.Writer) error) error {
	if err := o.checkNodes(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(parent, o.timeoutOr(def))
	defer cancel()
	outs := make([]bytes.Buffer, len(o.nodes))
	errs := make([]error, len(o.nodes))
	var wg sync.WaitGroup
	for i, addr := range o.nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := o.dialOne(ctx, addr)
			if err != nil {
				errs[i] = fmt.Errorf("dial %s: %w", addr, err)
				return
			}
			defer c.Close()
			if err := f(ctx, c, &outs[i]); err != nil {
				errs[i] = fmt.Errorf("node %s (%s): %w", c.NodeName(), addr, err)
			}
		}()
	}
	wg.Wait()
	failed := 0
	for i := range o.nodes {
		_, _ = e.stdout.Write(outs[i].Bytes())
		if errs[i] != nil {
			failed++
			if len(o.nodes) > 1 {
				fmt.Fprintf(e.stderr, "exo-actors: %s\n", oneLine(errs[i].Error()))
			}
		}
	}
	switch {
	case failed == 0:
		return nil
	case len(o.nodes) == 1:
		return errs[0]
	}
	return &reportedError{msg: fmt.Sprintf("%d of %d nodes failed (above); the others were handled", failed, len(o.nodes))}
}

// checkNodes checks --node and the --tls-* flags before any dial.
func (o *remoteOptions) checkNodes() error {
	if len(o.nodes) == 0 {
		return usageErrorf("no --node: name at least one node address, e.g. --node 127.0.0.1:7101")
	}
	if err := emptyEntry("node", o.nodes, "127.0.0.1:7101,127.0.0.1:7102"); err != nil { // listflag.go
		return err
	}
	for i, a := range o.nodes {
		if slices.Contains(o.nodes[:i], a) {
			return usageErrorf("--node %s is given twice: name each node once (it would be dialed, and run on, twice)", a)
		}
		if err := exo.CheckNodeAddr(a); err != nil {
			return &UsageError{Err: err}
		}
	}
	if o.timeout < 0 {
		return usageErrorf("--timeout %s: want a positive duration, e.g. --timeout 10s (0: the command's default)", o.timeout)
	}
	if err := checkTLSFlags(o.tls); err != nil {
		return err
	}
	if o.tls.Enabled() {
		if err := exo.CheckClientCert(exo.TLSFiles(o.tls)); err != nil {
			return &UsageError{Err: err, SeeAlso: tlsDoc}
		}
	}
	return nil
}

// reportedError is a command's failure whose details were printed already.
type reportedError struct{ msg string }

func (e *reportedError) Error() string { return e.msg }

func newRemoteStatusCmd(e *env, o *remoteOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Print each node's kinds, runners (live ones by ID), sessions and subscriptions",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var mu sync.Mutex
			got := map[string]remoteNodeStatus{} // by --node address
			err := o.eachNode(cmd.Context(), e, statusTimeout, func(ctx context.Context, c *exo.Client, _ io.Writer) error {
				st, err := c.NodeStatus(ctx)
				if err != nil {
					return err
				}
				infos, err := c.Runners(ctx)
				if err != nil {
					return err
				}
				mu.Lock()
				got[c.Addr()] = remoteNodeStatus{st: st, addr: c.Addr(), infos: infos}
				mu.Unlock()
				return nil
			})
			// Printed together, in --node order, so that the columns line
			// up whatever a node's kinds (each node's line was padded
			// alone: a long list of kinds pushed the rest of its line out).
			var rows []remoteNodeStatus
			for _, a := range o.nodes {
				if ns, ok := got[a]; ok {
					rows = append(rows, ns)
				}
			}
			printRemoteStatus(e.stdout, rows)
			return err
		},
	}
}

// remoteNodeStatus is what `remote status` read of one node.
type remoteNodeStatus struct {
	st    exo.NodeStatus
	addr  string
	infos []exo.RunnerInfo
}

// printRemoteStatus prints a line per node, its columns as wide as the
// widest value (at least the widths the docs show), each followed by its
// live runners by ID: what `remote stop` takes (a killed client's runners
// are found there).
func printRemoteStatus(out io.Writer, rows []remoteNodeStatus) {
	wName, wAddr, wKinds, wRunners := 8, 16, 14, 0
	for _, r := range rows {
		wName = max(wName, len(r.st.Name))
		wAddr = max(wAddr, len(r.addr))
		k, _ := kindsColumn(r.st.Kinds)
		wKinds = max(wKinds, utf8.RuneCountInString(k))
		wRunners = max(wRunners, len(runnersText(r.st.Runners, r.infos)))
	}
	for _, r := range rows {
		st := r.st
		kinds, cut := kindsColumn(st.Kinds)
		fmt.Fprintf(out, "%-*s %-*s kinds %-*s %-*s  sessions %d  subscriptions %d  open tasks %d  up %s\n",
			wName, st.Name, wAddr, r.addr, wKinds, kinds, wRunners, runnersText(st.Runners, r.infos),
			st.Sessions, st.Subscriptions, st.OpenTasks, st.Uptime.Round(time.Second))
		if cut {
			fmt.Fprintf(out, "%-*s   kinds %s\n", wName, st.Name, strings.Join(st.Kinds, ","))
		}
		if n := st.SpawnsUnconfirmed; n > 0 {
			fmt.Fprintf(out, "%-*s   unconfirmed spawns %d since the node started: runners spawned for a client lost before it confirmed their IDs reached its caller; "+
				"the node's log names each (\"may be known to nobody\"): stop those nobody holds with exo-actors remote stop --node %s RUNNER_ID\n", wName, st.Name, n, r.addr)
		}
		for _, ri := range r.infos {
			if !ri.Status.Terminal() || ri.Restarting {
				fmt.Fprintf(out, "%-*s   live runner %s (kind %s, %s)\n", wName, st.Name, ri.ID, ri.Kind, ri.StatusText())
			}
		}
	}
}

// kindsColumnWidth bounds the kinds column of `remote status`, so that a
// node with many kinds does not push every other column of every row off
// the screen.
const kindsColumnWidth = 32

// kindsColumn is a node's kinds as `remote status` shows them in its
// column: all of them when they fit in kindsColumnWidth, else as many
// whole names as fit and "…+N" for the rest, with cut true (the caller
// then prints the full list on a line of its own); a first name that does
// not fit on its own is cut short, so the column always names one.
func kindsColumn(kinds []string) (text string, cut bool) {
	all := strings.Join(kinds, ",")
	if utf8.RuneCountInString(all) <= kindsColumnWidth {
		return all, false
	}
	shown := ""
	for i, k := range kinds {
		next := k
		if i > 0 {
			next = shown + "," + k
		}
		// Keep room for the "…+N" the kinds after this one need.
		if utf8.RuneCountInString(next)+len(fmt.Sprintf(",+%d", len(kinds)-i-1))+1 > kindsColumnWidth {
			if i == 0 {
				more := ""
				if len(kinds) > 1 {
					more = fmt.Sprintf(",…+%d", len(kinds)-1)
				}
				keep := kindsColumnWidth - utf8.RuneCountInString(more) - 1 // the "…" ending the name
				return string([]rune(k)[:keep]) + "…" + more, true
			}
			return fmt.Sprintf("%s,…+%d", shown, len(kinds)-i), true
		}
		shown = next
	}
	return shown, true // not reached: all of them did not fit
}

func newRemoteShutdownCmd(e *env, o *remoteOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "shutdown",
		Short: "Shut every --node down and print its shutdown report",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var unclean atomic.Int32 // nodes that shut down, not cleanly (exit 4 when no node failed)
			err := o.eachNode(cmd.Context(), e, longTimeout, func(ctx context.Context, c *exo.Client, out io.Writer) error {
				rep, err := c.ShutdownNode(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "== node %s shut down in %s\n%s", rep.Node, rep.Total, rep.Text)
				if line := remoteShutdownUnclean(rep); line != "" { // remote_shutdown_clean.go
					fmt.Fprint(out, line)
					unclean.Add(1)
				}
				return nil
			})
			if n := int(unclean.Load()); err == nil && n > 0 {
				return remoteUncleanError(n, len(o.nodes))
			}
			return err
		},
	}
}

type remoteRun struct {
	kind          string
	tasks, tokens int
	noStop        bool
	taskKind      string            // the tasks' Kind (default text_generation)
	params        []string          // --param k=v, repeatable
	payload       string            // the tasks' payload, as text
	showTokens    bool              // print each task's text and outcome
	cancelAfter   int               // cancel each task after this many chunks (0: never)
	taskTimeout   time.Duration     // each task's Timeout (0: none)
	paramMap      map[string]string // params, parsed, with max_tokens from --tokens
	timeout       time.Duration     // the run's bound (--timeout, or its default)
	cleanup       time.Duration     // the cleanup's bound after an early end (--cleanup-timeout)
}

// parseParams checks the --param flags and builds the tasks' parameters:
// max_tokens comes from --tokens, so it is refused as a --param.
func (r *remoteRun) parseParams() error {
	r.paramMap = map[string]string{}
	if r.taskKind == "text_generation" {
		r.paramMap["max_tokens"] = fmt.Sprint(r.tokens)
	}
	for _, p := range r.params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usageErrorf("--param %q: want KEY=VALUE, e.g. --param temperature=0.7", p)
		}
		if k == "max_tokens" {
			return usageErrorf("--param max_tokens: set it with --tokens (the check counts the tokens against it)")
		}
		r.paramMap[k] = v
	}
	return nil
}

func newRemoteRunCmd(e *env, o *remoteOptions) *cobra.Command {
	r := remoteRun{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Spawn a runner of --kind on every node, run --tasks across them, check every tasks stream",
		Long: `run spawns a runner of --kind on every node, submits --tasks tasks across them and
checks each: a text_generation task must end Complete with --tokens tokens (its
max_tokens parameter), or fewer when the runner stopped early with
finish_reason "stop"; a task of another --task-kind must end Complete; with
--cancel-after N each task is cancelled after its N-th chunk and must end
Cancelled (or Complete, had it finished first); with --task-timeout D a task
still running after D ends TimedOut, which fails its check (a way to see a
task_timeout error in the node's /status and alerts). It also checks that every
node's tasks stream delivered its events in order. Exit 1 if a check failed.

When --timeout ends the run, or on SIGINT or SIGTERM, or when a call
fails, it cancels its open tasks and stops the runners it spawned (not
with --keep-runners: they stay), within --cleanup-timeout (15s), prints a
line per node (a stop still going on when it ends says so: the node
finishes it; 'exo-actors remote status' shows when) and
exits 1 (3 on a signal); a second signal exits at once, without the
cleanup. The runners are leased to the run's session with each node
(runtime.WithLeasedRunners): a run that ends without its cleanup (a second
signal, kill -9, a node it counted lost that comes back) leaves none, as
each node stops them when it sees the session end. A node that shuts
down during the run stops its runners itself: the run prints its tasks'
outcomes and reasons, says there is nothing to clean up there, and exits
1 only if tasks failed.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(r.kind) == "" {
				return requiredFlag(cmd.Flags(), "kind", "give one of the kinds in the nodes' config")
			}
			if r.tasks < 1 {
				return usageErrorf("--tasks %d: want at least 1 task to run across the nodes", r.tasks)
			}
			if r.tokens < 1 {
				return usageErrorf("--tokens %d: want at least 1 token per task (its max_tokens)", r.tokens)
			}
			if r.taskKind == "" {
				return usageErrorf(`--task-kind "": want a task kind the runner knows, e.g. text_generation`)
			}
			if r.cleanup <= 0 {
				return usageErrorf("--cleanup-timeout %s: want a positive duration, e.g. --cleanup-timeout 45s", r.cleanup)
			}
			if r.cancelAfter < 0 {
				return usageErrorf("--cancel-after %d: want a number of chunks, 1 or more (0: do not cancel)", r.cancelAfter)
			}
			if r.taskTimeout < 0 {
				return usageErrorf("--task-timeout %s: want a positive duration, e.g. --task-timeout 30s (0: no timeout)", r.taskTimeout)
			}
			if err := r.parseParams(); err != nil {
				return err
			}
			r.timeout = o.timeoutOr(longTimeout)
			base, cancelBase := context.WithTimeout(cmd.Context(), r.timeout)
			defer cancelBase()
			ctx, cancel := context.WithCancelCause(base)
			defer cancel(nil)
			stopSignals := watchSignals(cancel, e.stderr, o.nodes, !r.noStop)
			defer stopSignals()
			var lease []exo.DialOption
			if !r.noStop {
				// A run killed, cut off or frozen out cannot stop its
				// runners: the nodes do, at its session's end.
				lease = append(lease, exo.WithLeasedRunners())
			}
			cs, err := o.dialAll(ctx, lease...)
			if err != nil {
				if runEnded(ctx) {
					_, err = abortReason(ctx, r, nil, err)
				}
				return err
			}
			defer closeAll(cs)
			return runRemote(ctx, e.stdout, cs, r)
		},
	}
	f := cmd.Flags()
	f.StringVar(&r.kind, "kind", "", "runner kind to place on every node (required)")
	f.IntVar(&r.tasks, "tasks", 30, "tasks to run across the nodes")
	f.IntVar(&r.tokens, "tokens", 5, "tokens per text_generation task (its max_tokens parameter)")
	f.BoolVar(&r.noStop, "keep-runners", false, "leave the runners running (they are not leased: 'exo-actors remote stop' ends them)")
	f.StringVar(&r.taskKind, "task-kind", "text_generation", "the tasks' kind, e.g. text_generation or noop")
	f.StringArrayVar(&r.params, "param", nil, "a task parameter KEY=VALUE (repeatable), e.g. --param temperature=0.7")
	f.StringVar(&r.payload, "payload", "", "the tasks' payload (e.g. the prompt), as text")
	f.BoolVar(&r.showTokens, "show-tokens", false, "print each task's text and how it ended")
	f.IntVar(&r.cancelAfter, "cancel-after", 0, "cancel each task once N of its chunks arrived (0: never)")
	f.DurationVar(&r.taskTimeout, "task-timeout", 0, "each task's timeout (Task.Timeout): a task still running then ends TimedOut, a task_timeout error of its runner (0: none)")
	f.DurationVar(&r.cleanup, "cleanup-timeout", cleanupTimeout, "after an early end (--timeout, a signal, a failed call): how long to wait for its tasks' cancel and its runners' stops")
	return cmd
}

// checkTask judges one task by what run asked of it and says what it
// checked: ok is false for a failure, text is the line to print (for a
// failure, or when the task legally did other than asked; "" otherwise).
func checkTask(r remoteRun, o exo.TaskOutcome, last exo.Chunk, cancelSent bool) (ok bool, text string) {
	reason := o.Reason
	if reason == "" {
		reason = "no reason given"
	}
	finish := last.FinishReason
	if finish == "" {
		finish = "none"
	}
	switch {
	case cancelSent && o.Status == exo.TaskCancelled:
		return true, ""
	case cancelSent && o.Status == exo.TaskComplete:
		return true, fmt.Sprintf("complete before the cancel reached it: %s, finish_reason %s", plural(o.Chunks, "chunk"), finish)
	case cancelSent:
		return false, fmt.Sprintf("cancelled after %d chunks, want Cancelled; got %s (%s)", r.cancelAfter, o.Status, reason)
	case o.Status != exo.TaskComplete && last.Error != "" && o.Chunks > 0:
		// The error chunk is counted, the runner's or the node's own (a
		// runner that sent no token read "after 1 chunk").
		return false, fmt.Sprintf("%s (%s) after %s, want Complete", o.Status, reason, plural(o.Chunks-1, "token")+" and an error chunk")
	case o.Status != exo.TaskComplete:
		return false, fmt.Sprintf("%s (%s) after %s, want Complete", o.Status, reason, plural(o.Chunks, "chunk"))
	case r.taskKind != "text_generation":
		return true, ""
	case o.Chunks == r.tokens:
		return true, ""
	case o.Chunks < r.tokens && last.FinishReason == "stop":
		return true, fmt.Sprintf("complete: %s, finish_reason stop (--tokens %d is a maximum: an early stop is legal)", plural(o.Chunks, "token"), r.tokens)
	case o.Chunks < r.tokens:
		return false, fmt.Sprintf("complete with %s, want %d (--tokens), or fewer only with finish_reason \"stop\"; the last chunk's finish_reason is %s", plural(o.Chunks, "token"), r.tokens, finish)
	}
	return false, fmt.Sprintf("complete with %s, more than max_tokens %d (--tokens)", plural(o.Chunks, "token"), r.tokens)
}

// lastChunk is the handle's last chunk, or a zero Chunk.
func lastChunk(h *exo.TaskHandle) exo.Chunk {
	cs := h.Chunks()
	if len(cs) == 0 {
		return exo.Chunk{}
	}
	return cs[len(cs)-1]
}

// taskText is a task's text and error chunks, for --show-tokens.
func taskText(h *exo.TaskHandle) string {
	var b strings.Builder
	var errs []string
	for _, c := range h.Chunks() {
		if c.Error != "" {
			errs = append(errs, c.Error)
			continue
		}
		b.WriteString(c.Text)
	}
	s := fmt.Sprintf("%q", b.String())
	if len(errs) > 0 {
		s += fmt.Sprintf(" (error chunks: %q)", errs)
	}
	return s
}

// nodeRun is what run saw of one node.
type nodeRun struct {
	c         *exo.Client
	runner    string
	stopped   bool // runner stopped (or, on an abort, kept by --keep-runners)
	handles   []*exo.TaskHandle
	cancelled map[string]bool // tasks the run cancelled (--cancel-after), by ID
	events    int
	gaps      int
	outcomes  int
	hidden    int    // outcomes that Gaps hid (read: the reader stopped at the head)
	order     string // the first order violation
	err       error
	// head is the tasks stream's last sequence number, plus 1, once every
	// task of the node has ended (0: not known yet): the reader stops
	// there when a Gap hid an outcome (endRead). wake ends the reader's
	// wait for its next event, so that it looks at head; done is closed
	// by the reader (its sole closer) when it returns.
	head atomic.Uint64
	wake context.CancelFunc
	done chan struct{}
	// want is how many of the run's tasks went to this node; headErr why
	// endRead could not learn the head (the reader then waits on).
	want    int
	headErr error
	// watch is what watchRunner saw of its runner (remote_watch.go): under
	// watchMu, read with watched; watchSeen (capacity 1, never closed)
	// rings after each event it took in.
	watchMu   sync.Mutex
	watch     runnerWatch
	watchSeen chan struct{}
}

// kindOnEveryNode refuses a --kind that some node's config lacks, naming
// every such node and its kinds, before anything is spawned: the spawns
// went node by node, and an operator's trial was told only of the first
// node without it (remote stop --kind names all of them).
func kindOnEveryNode(cs []*exo.Client, kind string) error {
	var missing []string
	for _, c := range cs {
		if !slices.Contains(c.Kinds(), kind) {
			missing = append(missing, fmt.Sprintf("node %s: %s %q: node %s runs only the kinds of its config: %s",
				c.NodeName(), exo.ErrUnknownKind, kind, c.NodeName(), strings.Join(c.Kinds(), ", ")))
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return errjoin.Tag(exo.ErrUnknownKind, errors.New(strings.Join(missing, "; ")))
}

func runRemote(ctx context.Context, out io.Writer, cs []*exo.Client, r remoteRun) (err error) {
	out = &syncWriter{w: out} // the runner watchers print too (remote_watch.go)
	runs := make([]*nodeRun, len(cs))
	reported := false // the FAILED lines were printed (the run's normal end)
	// Runs last (after the readers ended): a run that ends before its
	// normal end leaves no runner of its own behind.
	defer func() {
		if err == nil {
			return
		}
		if !reported {
			// The run waits for its tasks node by node: one that ended
			// early (--timeout, a signal) had tasks of other nodes ended
			// already, failed maybe (a node shut down), whose FAILED lines
			// it printed only at its normal end (trial9).
			printEndedFailures(out, r, runs)
		}
		why := "the run failed"
		if runEnded(ctx) {
			why, err = abortReason(ctx, r, runs, err)
		}
		abortRun(ctx, out, runs, r.noStop, r.cleanup, why)
	}()
	var readers sync.WaitGroup
	// On an early return too: each reader ends once its subscription is
	// closed (deferred below, so before this Wait) or ctx ends.
	defer readers.Wait()
	// The runner watchers end when their subscriptions close (deferred
	// below, so before this Wait) or ctx ends; what they saw is read after.
	var watchers sync.WaitGroup
	defer watchers.Wait()
	if err := kindOnEveryNode(cs, r.kind); err != nil {
		return err
	}
	for i, c := range cs {
		nr := &nodeRun{c: c, watchSeen: make(chan struct{}, 1)}
		runs[i] = nr
		sub, err := c.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{Buffer: 8192})
		if err != nil {
			return err
		}
		defer sub.Close()
		// Its failures as they come: a runner the node restarts again
		// and again is said so, not only at --timeout (remote_watch.go).
		// Subscribed before the spawn, so a runner that fails at once
		// (its command gone) is seen too; its ID is not known yet, so the
		// watcher picks its events out.
		// The node's other runners' events come too: a buffer as large as
		// the tasks stream's. A Gap may still hide a failure's line on a
		// busy node; the run's error names a failing runner whatever the
		// stream showed (failingRunners asks the node).
		rsub, err := c.Subscribe(exo.TopicRunnerStatus, exo.Filter{
			Kinds: []string{exo.KindRunnerFailed, exo.KindStatusChanged, exo.KindRunnerStopped}}, exo.SubscribeOptions{Buffer: 8192})
		if err != nil {
			return err
		}
		defer rsub.Close()
		id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: r.kind})
		if err != nil {
			return err
		}
		nr.runner = id
		fmt.Fprintf(out, "node %-8s spawned %s\n", c.NodeName(), id)
		watchers.Add(1)
		go func() {
			defer watchers.Done()
			nr.watchRunner(ctx, rsub, out)
		}()
		want := r.tasks / len(cs)
		if i < r.tasks%len(cs) {
			want++
		}
		rctx, wake := context.WithCancel(ctx)
		defer wake()
		nr.wake, nr.done, nr.want = wake, make(chan struct{}), want
		readers.Add(1)
		go func() {
			defer readers.Done()
			nr.read(ctx, rctx, sub)
		}()
	}
	start := time.Now()
	for i := range r.tasks {
		nr := runs[i%len(runs)]
		var payload []byte
		if r.payload != "" {
			payload = []byte(r.payload)
		}
		h, err := nr.c.Submit(ctx, nr.runner, exo.Task{ID: fmt.Sprintf("task-%04d", i), Kind: r.taskKind,
			Params: r.paramMap, Payload: payload, Timeout: r.taskTimeout})
		if err != nil {
			catchUpWatchers(ctx, runs) // its failure lines before the cleanup's
			return err
		}
		nr.handles = append(nr.handles, h)
	}
	var failed []string
	for _, nr := range runs {
		for _, h := range nr.handles {
			cancelSent := false
			if r.cancelAfter > 0 {
				// Chunk waits for chunk N-1, or returns io.EOF if the task
				// ended with fewer: then there is nothing to cancel.
				if _, err := h.Chunk(ctx, r.cancelAfter-1); err == nil {
					if _, err := nr.c.Cancel(ctx, nr.runner, h.ID); err != nil {
						return fmt.Errorf("cancel %s on %s: %w", h.ID, nr.c.NodeName(), err)
					}
					cancelSent = true
					if nr.cancelled == nil {
						nr.cancelled = map[string]bool{}
					}
					nr.cancelled[h.ID] = true
				}
			}
			o, err := h.Wait(ctx)
			if err != nil {
				return err
			}
			ok, text := checkTask(r, o, lastChunk(h), cancelSent)
			if r.showTokens {
				fmt.Fprintf(out, "%s on %s: %s, %s: %s\n", h.ID, nr.c.NodeName(), o.Status, plural(o.Chunks, "chunk"), taskText(h))
			}
			switch {
			case !ok:
				failed = append(failed, fmt.Sprintf("%s on %s: %s", h.ID, nr.c.NodeName(), text))
			case text != "":
				fmt.Fprintf(out, "%s on %s: %s\n", h.ID, nr.c.NodeName(), text)
			}
		}
	}
	for _, nr := range runs {
		nr.endRead(ctx)
	}
	readers.Wait()
	elapsed := time.Since(start)
	catchUpWatchers(ctx, runs) // the failure lines before the summary
	streamsFailed := 0         // nodes whose tasks stream failed (one stream per node)
	for _, nr := range runs {
		passed := len(nr.handles) - countOn(failed, nr.c.NodeName())
		hidden := ""
		switch {
		case nr.hidden > 0 && nr.gaps > 0:
			hidden = fmt.Sprintf(" (and %d in gaps)", nr.hidden)
		case nr.hidden > 0:
			// No gap hid it: its handle ended on the client's side first
			// (a chunk it could not take), and the node published the
			// outcome after the stream's head was read.
			hidden = fmt.Sprintf(" (and %d not on the stream when the run stopped reading)", nr.hidden)
		}
		fmt.Fprintf(out, "node %-8s %s passed the check; tasks stream: %s in order, %s, %s%s\n",
			nr.c.NodeName(), plural(passed, "task"), plural(nr.events, "event"), plural(nr.gaps, "gap"), plural(nr.outcomes, "outcome"), hidden)
		fmt.Fprint(out, protocolErrorsLine(ctx, nr))
		if nr.order != "" || nr.err != nil {
			streamsFailed++
		}
		if nr.order != "" {
			failed = append(failed, fmt.Sprintf("node %s stream out of order: %s", nr.c.NodeName(), nr.order))
		}
		if nr.err != nil {
			why := ""
			if nr.headErr != nil {
				// The reader waited for outcomes a Gap may have hidden, as
				// it could not learn where to stop (endRead).
				why = fmt.Sprintf(" (waiting for %s of its tasks; where the stream stood when they had ended could not be learned: %v)",
					plural(nr.want-nr.outcomes, "outcome"), nr.headErr)
			}
			failed = append(failed, fmt.Sprintf("node %s stream: %v%s", nr.c.NodeName(), nr.err, why))
		}
	}
	fmt.Fprintf(out, "%s on %s in %s\n", plural(r.tasks, "task"), plural(len(runs), "node"), elapsed.Round(time.Millisecond))
	var down []string    // nodes that shut down during the run: their shutdown stopped the runner
	var retired []string // runners their node had given up on (escalated)
	var stopErr error
	if !r.noStop {
		for _, nr := range runs {
			err := nr.c.Err()
			if err == nil {
				var res *exo.StopResult
				if res, err = nr.c.StopRunner(ctx, nr.runner); err == nil {
					nr.stopped = true
					if shutdownCutTasks(nr) {
						// The node shuts down, its client does not know yet
						// (the note comes at its end): its shutdown or this
						// stop ended the runner, whichever came first.
						down = append(down, nr.c.NodeName())
						fmt.Fprintln(out, shutDownStopLine(nr, res))
						continue
					}
					// Retired: the node answered with a failure and no process,
					// and the run saw it fail and never Ready again since (a
					// runner that failed once and came back, then was stopped,
					// also answers with its old failure: a review).
					if w := nr.watched(); retiredRunner(res, w) {
						// The node had retired it (its error policy gave up
						// after its failures): say so, here and in the error.
						// Before, "stopped ID: was not running" alone (a new
						// user's trial: a runner whose Load failed 4 times).
						retired = append(retired, fmt.Sprintf("runner %s on %s failed for good (%s): %s",
							res.RunnerID, nr.c.NodeName(), gaveUpAfter(w.failures), oneLine(res.Failure.Error())))
						fmt.Fprintln(out, retiredLine(nr, res, "nothing to stop"))
						continue
					}
					fmt.Fprintf(out, "node %-8s stopped %s: %s\n", nr.c.NodeName(), res.RunnerID, stopSummary(res))
					continue
				}
			}
			if line, ok := shutDownLine(nr, err); ok {
				nr.stopped = true // its own shutdown stops it: nothing to clean up
				down = append(down, nr.c.NodeName())
				fmt.Fprintln(out, line)
				continue
			}
			if nr.c.Err() != nil {
				nr.stopped = true // nothing to stop there any more
				fmt.Fprintf(out, "node %-8s %v\n", nr.c.NodeName(), err)
				continue
			}
			// Printed after the tasks' lines: a failed stop must not hide
			// why the tasks failed (trial-rust run6: the stop's "node
			// lost" ended the run before its FAILED line was printed).
			if stopErr == nil {
				stopErr = fmt.Errorf("stop %s on %s: %w", nr.runner, nr.c.NodeName(), err)
			}
		}
	} else {
		for _, nr := range runs {
			nr.stopped = true // kept, as asked
			// Said, as an early end says it: the run's last lines were
			// the tasks', and the runner's ID was 30 lines up.
			fmt.Fprintf(out, "node %-8s kept %s (--keep-runners): stop it with exo-actors remote stop --node %s %s\n",
				nr.c.NodeName(), nr.runner, nr.c.Addr(), nr.runner)
		}
	}
	var summary string
	reported = true
	if len(failed) > 0 {
		for _, f := range failed {
			fmt.Fprintf(out, "FAILED %s\n", f)
		}
		summary = failureSummary(len(failed)-streamsFailed, r.tasks, streamsFailed, len(runs))
		if len(down) > 0 {
			summary += fmt.Sprintf("; %s shut down during the run (%s)", nodesText(down), shutdownCutText(len(down), "cut %s tasks short and stopped %s runner"))
		}
		if len(retired) > 0 {
			summary += "; " + strings.Join(retired, "; ")
		}
	}
	switch {
	case stopErr != nil && summary != "":
		return fmt.Errorf("%s; %w", summary, stopErr)
	case stopErr != nil:
		return stopErr
	case summary != "":
		return errors.New(summary)
	}
	return nil
}

// printEndedFailures prints a FAILED line for each task of runs that has
// ended, not as the run wants (checkTask, told which tasks the run
// cancelled), when the run ends before its normal end.
func printEndedFailures(out io.Writer, r remoteRun, runs []*nodeRun) {
	for _, nr := range runs {
		if nr == nil {
			continue
		}
		for _, h := range nr.handles {
			o := h.Outcome()
			if o == nil {
				continue
			}
			if ok, text := checkTask(r, *o, lastChunk(h), nr.cancelled[h.ID]); !ok {
				fmt.Fprintf(out, "FAILED %s on %s: %s\n", h.ID, nr.c.NodeName(), text)
			}
		}
	}
}

// shutdownCutTasks says whether the node's shutdown ended a task of nr
// (cancelled before it started, or cut by the drain deadline: the fixed
// reasons of actors.ReasonShutdownBeforeStart and ReasonShutdownDrainCut):
// the node shuts down although its client may not know yet.
func shutdownCutTasks(nr *nodeRun) bool {
	for _, h := range nr.handles {
		o := h.Outcome()
		if o == nil {
			continue
		}
		if (o.Status == exo.TaskCancelled && o.Reason == actors.ReasonShutdownBeforeStart) ||
			(o.Status == exo.TaskTimedOut && o.Reason == actors.ReasonShutdownDrainCut) {
			return true
		}
	}
	return false
}

// shutDownLine is the line for a node whose runner run (or its cleanup)
// could not stop because the node shut down (err wraps ErrShuttingDown):
// its shutdown stops the runner, so there is nothing to clean up there.
// The node has shut down when its gateway said so as it stopped (the
// client's error wraps ErrNodeLost) or when it answered that it has
// stopped (ErrStopped: its shutdown ended, its gateway still waits for
// goodbyes); else it refused as it shuts down. ok is false for any other
// err. The forms are listed in docs/remote.md (TestShutDownLinesDocumented).
func shutDownLine(nr *nodeRun, err error) (line string, ok bool) {
	if err == nil || !errors.Is(err, exo.ErrShuttingDown) {
		return "", false
	}
	what := "is shutting down: its shutdown stops"
	if errors.Is(err, exo.ErrNodeLost) || errors.Is(err, exo.ErrStopped) {
		what = "shut down during the run: its shutdown stopped"
	}
	return fmt.Sprintf("node %-8s %s %s; nothing to clean up there", nr.c.NodeName(), what, nr.runner), true
}

// shutDownStopLine is the line for a node that answered the run's stop
// while its shutdown ended tasks of the run (shutdownCutTasks): its
// shutdown or the stop ended the runner, whichever came first.
func shutDownStopLine(nr *nodeRun, res *exo.StopResult) string {
	return fmt.Sprintf("node %-8s is shutting down (its shutdown ended tasks of the run); %s stopped: %s", nr.c.NodeName(), res.RunnerID, res.Summary())
}

// shutdownCutText fills format's two %s with "its" or "their" and the
// noun phrases of one node's shutdown or several nodes' shutdowns.
func shutdownCutText(nodes int, format string) string {
	if nodes == 1 {
		return "its shutdown " + fmt.Sprintf(format, "its", "its")
	}
	return "their shutdowns " + strings.ReplaceAll(fmt.Sprintf(format, "their", "their"), "runner", "runners")
}

// nodesText says "node n1" or "nodes n1, n2".
func nodesText(names []string) string {
	if len(names) == 1 {
		return "node " + names[0]
	}
	return "nodes " + strings.Join(names, ", ")
}

// failureSummary is run's error: tasks and streams are counted apart (a
// node has one tasks stream), so the text never says "2 of 1 tasks".
func failureSummary(tasksFailed, tasks, streamsFailed, streams int) string {
	switch {
	case streamsFailed == 0:
		return fmt.Sprintf("%d of %d tasks failed", tasksFailed, tasks)
	case tasksFailed == 0:
		return fmt.Sprintf("%d of %d nodes' tasks streams failed", streamsFailed, streams)
	}
	return fmt.Sprintf("%d of %d tasks and %d of %d nodes' tasks streams failed", tasksFailed, tasks, streamsFailed, streams)
}

func countOn(failed []string, node string) int {
	n := 0
	for _, f := range failed {
		if strings.Contains(f, " on "+node+":") {
			n++
		}
	}
	return n
}

// read follows one node's tasks stream until it has seen want task
// outcomes, or, once every task of the node has ended (endRead), until it
// has read up to the stream's head then: an outcome a Gap hid (a client
// slower than the runner's chunks: drop-oldest) never comes, and before,
// the run waited for it until --timeout and blamed the timeout (a new
// user's trial). rctx is ctx until endRead wakes it.
func (nr *nodeRun) read(ctx, rctx context.Context, sub *exo.Subscription) {
	want := nr.want
	defer close(nr.done) // sole sender: this reader (its one run)
	if testHookReadLate {
		<-rctx.Done()
	}
	var last uint64
	for nr.outcomes < want {
		if h := nr.head.Load(); h != 0 && last >= h-1 {
			nr.hidden = want - nr.outcomes
			return
		}
		ev, err := sub.Next(rctx)
		if err != nil {
			if rctx != ctx && rctx.Err() != nil && ctx.Err() == nil {
				rctx = ctx // woken: head is set; read on up to it
				continue
			}
			nr.err = err
			return
		}
		if ev.Gap != nil {
			nr.gaps++
			last = ev.Gap.ToSeq
			continue
		}
		if last != 0 && ev.Seq != last+1 && nr.order == "" {
			nr.order = fmt.Sprintf("seq %d after %d", ev.Seq, last)
		}
		last = ev.Seq
		nr.events++
		if p, ok := ev.Payload.(exo.TaskStatusChanged); ok && ev.RunnerID == nr.runner {
			// Only this run's tasks: other clients' tasks on the node
			// come on the same topic.
			switch p.Status {
			case exo.TaskComplete, exo.TaskFailed,
				exo.TaskCancelled, exo.TaskTimedOut:
				nr.outcomes++
			}
		}
	}
}

// testHookReadLate, set by a test before runRemote, holds each reader back
// until endRead wakes it: meanwhile the node drops the oldest events for
// it, outcomes among them.
var testHookReadLate bool

// headProbeTask is the task ID endRead's subscription filters on: no task
// has it, so nothing is delivered to it before its Close.
const headProbeTask = "exo-actors-remote-run-head-probe"

// endRead runs once every task of the node has ended: when the reader is
// still waiting for outcomes, it learns the tasks stream's head from a new
// subscription (JoinedAfter: the node took it after every outcome was
// published, since each outcome is published before its task's handle
// ends) and wakes the reader, which stops once it has read up to there.
// A node that cannot say (older, or gone) leaves the reader as it was.
func (nr *nodeRun) endRead(ctx context.Context) {
	select {
	case <-nr.done:
		return // all outcomes seen, or the stream ended
	default:
	}
	probe, err := nr.c.SubscribeContext(ctx, exo.TopicTasks, exo.Filter{TaskID: headProbeTask}, exo.SubscribeOptions{Buffer: 1, Window: 1})
	if err != nil {
		nr.headErr = err
		return
	}
	after, known := probe.JoinedAfter()
	probe.Close()
	if !known {
		nr.headErr = errors.New("the node does not say (older than this client)")
		return
	}
	nr.head.Store(after + 1)
	nr.wake()
}

// plural says "1 node", "3 nodes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// runnersText is the status line's runner count: NodeStatus.Runners counts
// every runner the node lists, ended ones it still remembers included
// (RetentionLimits), so the live ones — not ended, or waiting to restart —
// are counted apart: "runners 3 (1 live)".
func runnersText(listed int, infos []exo.RunnerInfo) string {
	live := 0
	for _, ri := range infos {
		if !ri.Status.Terminal() || ri.Restarting {
			live++
		}
	}
	return fmt.Sprintf("runners %d (%d live)", listed, live)
}

// protocolErrorsLine says, when the run's runner on nr's node broke the
// protocol (RunnerInfo.ProtocolErrors: frames the node logged and ignored
// or corrected), how often and where to look; "" when it did not, or the
// node did not answer. remote run is how a runner's author tries a runner,
// and its tasks may pass while the runner breaks the rules (a new user's
// trial: chunk indexes from 1, "2 tasks passed the check", the errors in
// the node's log only).
func protocolErrorsLine(ctx context.Context, nr *nodeRun) string {
	if nr.runner == "" {
		return ""
	}
	qctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	infos, err := nr.c.Runners(qctx)
	if err != nil {
		return ""
	}
	for _, ri := range infos {
		if ri.ID == nr.runner && ri.ProtocolErrors > 0 {
			return fmt.Sprintf("node %-8s runner %s broke the runner protocol %s: the node's log names each (\"protocol error from runner\"); docs/protocol.md, and `exo-actors conformance` checks a runner\n",
				nr.c.NodeName(), nr.runner, plural(int(ri.ProtocolErrors), "time"))
		}
	}
	return ""
}

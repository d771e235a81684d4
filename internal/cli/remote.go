package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/exo-actors/exo-actors/actors/gateway"
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
			"across them and checks every node's tasks stream; shutdown shuts nodes down and prints\n" +
			"their reports. See docs/remote.md.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	pf := cmd.PersistentFlags()
	pf.StringSliceVar(&o.nodes, "node", nil, "node address HOST:PORT (repeatable or comma-separated)")
	pf.StringVar(&o.tls.CAFile, "tls-ca", "", "PEM CA of the nodes' certificates (turns TLS on)")
	pf.StringVar(&o.tls.CertFile, "tls-cert", "", "PEM certificate of this client")
	pf.StringVar(&o.tls.KeyFile, "tls-key", "", "PEM key of this client")
	pf.DurationVar(&o.timeout, "timeout", 2*time.Minute, "bound on the whole command")
	cmd.AddCommand(newRemoteStatusCmd(e, o), newRemoteRunCmd(e, o), newRemoteShutdownCmd(e, o))
	for _, c := range cmd.Commands() {
		c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Err: err} })
	}
	return cmd
}

// dialAll dials every --node; on an error it closes those it dialed.
func (o *remoteOptions) dialAll(ctx context.Context) ([]*exo.Client, error) {
	if len(o.nodes) == 0 {
		return nil, usageErrorf("no --node: name at least one node address, e.g. --node 127.0.0.1:7101")
	}
	if err := checkTLSFlags(o.tls); err != nil {
		return nil, err
	}
	var opts []exo.DialOption
	if o.tls.Enabled() {
		opts = append(opts, exo.WithTLS(exo.TLSFiles(o.tls)))
	}
	var out []*exo.Client
	for _, addr := range o.nodes {
		c, err := exo.Dial(ctx, addr, append(opts, exo.WithClientName("exo-actors remote"))...)
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

// eachNode dials every --node within --timeout and calls f for each client
// in turn, stopping at the first error; the clients are closed after.
func (o *remoteOptions) eachNode(parent context.Context, f func(context.Context, *exo.Client) error) error {
	ctx, cancel := context.WithTimeout(parent, o.timeout)
	defer cancel()
	cs, err := o.dialAll(ctx)
	if err != nil {
		return err
	}
	defer closeAll(cs)
	for _, c := range cs {
		if err := f(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func newRemoteStatusCmd(e *env, o *remoteOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Print each node's kinds, runners, sessions and subscriptions",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.eachNode(cmd.Context(), func(ctx context.Context, c *exo.Client) error {
				st, err := c.NodeStatus(ctx)
				if err != nil {
					return err
				}
				infos, err := c.Runners(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "%-8s %-16s kinds %-14s %s  sessions %d  subscriptions %d  open tasks %d  up %s\n",
					st.Name, c.Addr(), strings.Join(st.Kinds, ","), runnersText(st.Runners, infos), st.Sessions, st.Subscriptions, st.OpenTasks, st.Uptime.Round(time.Second))
				return nil
			})
		},
	}
}

func newRemoteShutdownCmd(e *env, o *remoteOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "shutdown",
		Short: "Shut every --node down and print its shutdown report",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.eachNode(cmd.Context(), func(ctx context.Context, c *exo.Client) error {
				rep, err := c.ShutdownNode(ctx)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "== node %s shut down in %s\n%s", rep.Node, rep.Total, rep.Text)
				return nil
			})
		},
	}
}

type remoteRun struct {
	kind          string
	tasks, tokens int
	noStop        bool
}

func newRemoteRunCmd(e *env, o *remoteOptions) *cobra.Command {
	r := remoteRun{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Spawn a runner of --kind on every node, run --tasks across them, check every tasks stream",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if r.kind == "" {
				return usageErrorf("--kind is required: one of the kinds in the nodes' config")
			}
			if r.tasks < 1 || r.tokens < 1 {
				return usageErrorf("--tasks and --tokens must be at least 1")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			cs, err := o.dialAll(ctx)
			if err != nil {
				return err
			}
			defer closeAll(cs)
			return runRemote(ctx, e.stdout, cs, r)
		},
	}
	f := cmd.Flags()
	f.StringVar(&r.kind, "kind", "", "runner kind to place on every node (required)")
	f.IntVar(&r.tasks, "tasks", 30, "tasks to run across the nodes")
	f.IntVar(&r.tokens, "tokens", 5, "tokens per task")
	f.BoolVar(&r.noStop, "keep-runners", false, "leave the runners running")
	return cmd
}

// nodeRun is what run saw of one node.
type nodeRun struct {
	c        *exo.Client
	runner   string
	handles  []*exo.TaskHandle
	events   int
	gaps     int
	outcomes int
	order    string // the first order violation
	err      error
}

func runRemote(ctx context.Context, out io.Writer, cs []*exo.Client, r remoteRun) error {
	runs := make([]*nodeRun, len(cs))
	var readers sync.WaitGroup
	// On an early return too: each reader ends once its subscription is
	// closed (deferred below, so before this Wait) or ctx ends.
	defer readers.Wait()
	for i, c := range cs {
		nr := &nodeRun{c: c}
		runs[i] = nr
		sub, err := c.Subscribe(exo.TopicTasks, exo.Filter{}, exo.SubscribeOptions{Buffer: 8192})
		if err != nil {
			return err
		}
		defer sub.Close()
		id, err := c.SpawnRunner(ctx, exo.RunnerSpec{Kind: r.kind})
		if err != nil {
			return err
		}
		nr.runner = id
		fmt.Fprintf(out, "node %-8s spawned %s\n", c.NodeName(), id)
		want := r.tasks / len(cs)
		if i < r.tasks%len(cs) {
			want++
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			nr.read(ctx, sub, want)
		}()
	}
	start := time.Now()
	for i := range r.tasks {
		nr := runs[i%len(runs)]
		h, err := nr.c.Submit(ctx, nr.runner, exo.Task{ID: fmt.Sprintf("task-%04d", i), Kind: "text_generation",
			Params: map[string]string{"max_tokens": fmt.Sprint(r.tokens)}})
		if err != nil {
			return err
		}
		nr.handles = append(nr.handles, h)
	}
	var failed []string
	for _, nr := range runs {
		for _, h := range nr.handles {
			o, err := h.Wait(ctx)
			if err != nil {
				return err
			}
			if o.Status != exo.TaskComplete || o.Chunks != r.tokens {
				failed = append(failed, fmt.Sprintf("%s on %s: %s %s", h.ID, nr.c.NodeName(), o.Status, o.Reason))
			}
		}
	}
	readers.Wait()
	elapsed := time.Since(start)
	for _, nr := range runs {
		fmt.Fprintf(out, "node %-8s %d tasks complete; tasks stream: %d events in order, %d gaps, %d outcomes\n",
			nr.c.NodeName(), len(nr.handles)-countOn(failed, nr.c.NodeName()), nr.events, nr.gaps, nr.outcomes)
		if nr.order != "" {
			failed = append(failed, fmt.Sprintf("node %s stream out of order: %s", nr.c.NodeName(), nr.order))
		}
		if nr.err != nil {
			failed = append(failed, fmt.Sprintf("node %s stream: %v", nr.c.NodeName(), nr.err))
		}
	}
	fmt.Fprintf(out, "%d tasks on %s in %s\n", r.tasks, plural(len(runs), "node"), elapsed.Round(time.Millisecond))
	if !r.noStop {
		for _, nr := range runs {
			if err := nr.c.Err(); err != nil {
				fmt.Fprintf(out, "node %-8s %v\n", nr.c.NodeName(), err)
				continue
			}
			res, err := nr.c.StopRunner(ctx, nr.runner)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "node %-8s stopped %s: ended by %s\n", nr.c.NodeName(), res.RunnerID, res.Ended())
		}
	}
	if len(failed) > 0 {
		for _, f := range failed {
			fmt.Fprintf(out, "FAILED %s\n", f)
		}
		return fmt.Errorf("%d of %d tasks or streams failed", len(failed), r.tasks)
	}
	return nil
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

// read follows one node's tasks stream until want tasks ended on it.
func (nr *nodeRun) read(ctx context.Context, sub *exo.Subscription, want int) {
	var last uint64
	for nr.outcomes < want {
		ev, err := sub.Next(ctx)
		if err != nil {
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
		if p, ok := ev.Payload.(exo.TaskStatusChanged); ok {
			switch p.Status {
			case exo.TaskComplete, exo.TaskFailed,
				exo.TaskCancelled, exo.TaskTimedOut:
				nr.outcomes++
			}
		}
	}
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

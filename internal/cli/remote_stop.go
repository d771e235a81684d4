package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// remoteStop is `exo-actors remote stop`: it stops runners by ID, or every
// live runner of a kind, on the --node nodes (e.g. the runners of a
// `remote run` whose process was killed: nothing else would stop them
// short of the node's shutdown).
type remoteStop struct {
	kind    string
	ids     []string
	timeout time.Duration // the command's bound (--timeout, or stopTimeout)

	mu    sync.Mutex
	found map[string]bool // the IDs some node lists
}

func newRemoteStopCmd(e *env, o *remoteOptions) *cobra.Command {
	s := &remoteStop{}
	cmd := &cobra.Command{
		Use:   "stop [RUNNER_ID...]",
		Short: "Stop runners by ID, or every live runner of --kind, on the --node nodes",
		Long: `stop stops runners on the --node nodes: those named by ID (each on the
node that lists it; 'exo-actors remote status' lists them), and with --kind
every live runner of that kind, whoever spawned it. Use it for the runners
of a 'remote run' that was killed (kill -9, or a second Ctrl-C) before it
could stop them. Exit 1 if a runner could not be stopped, an ID is listed
on no node, or a node could not be reached.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			s.ids = args
			if len(s.ids) == 0 && s.kind == "" {
				return usageErrorf("name the runners to stop: their IDs (from 'exo-actors remote status'), or --kind K for every live runner of kind K")
			}
			s.found = map[string]bool{}
			s.timeout = o.timeoutOr(stopTimeout)
			err := o.eachNode(cmd.Context(), e, stopTimeout, s.onNode)
			var missing []string
			for _, id := range s.ids {
				if !s.found[id] {
					missing = append(missing, id)
				}
			}
			if len(missing) > 0 && err == nil {
				return fmt.Errorf("runner %s: no --node lists it; 'exo-actors remote status --node …' shows each node's runners", strings.Join(missing, ", "))
			}
			if len(missing) > 0 {
				fmt.Fprintf(e.stderr, "exo-actors: runner %s: no node that answered lists it\n", strings.Join(missing, ", "))
			}
			return err
		},
	}
	cmd.Flags().StringVar(&s.kind, "kind", "", "stop every live runner of this kind (whoever spawned it)")
	return cmd
}

// onNode stops this node's runners that s names; out gets one line each.
func (s *remoteStop) onNode(ctx context.Context, c *exo.Client, out io.Writer) error {
	if s.kind != "" && len(s.ids) == 0 && !slices.Contains(c.Kinds(), s.kind) {
		return fmt.Errorf("node %s has no runner kind %q (its kinds: %s): check --kind", c.NodeName(), s.kind, strings.Join(c.Kinds(), ", "))
	}
	infos, err := c.Runners(ctx)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, id := range s.ids {
		want[id] = true
	}
	var todo []exo.RunnerInfo
	for _, ri := range infos {
		live := !ri.Status.Terminal() || ri.Restarting
		switch {
		case want[ri.ID]:
			s.mu.Lock()
			s.found[ri.ID] = true
			s.mu.Unlock()
			if !live {
				fmt.Fprintf(out, "node %-8s %s had already ended (%s)\n", c.NodeName(), ri.ID, ri.Status)
				continue
			}
			todo = append(todo, ri)
		case s.kind != "" && ri.Kind == s.kind && live:
			todo = append(todo, ri)
		}
	}
	sort.Slice(todo, func(i, j int) bool { return todo[i].ID < todo[j].ID })
	if s.kind != "" && len(todo) == 0 && len(s.ids) == 0 {
		fmt.Fprintf(out, "node %-8s no live runner of kind %q\n", c.NodeName(), s.kind)
	}
	var failed, going []string // going: stops the node goes on with after this call's end
	for _, ri := range todo {
		res, err := c.StopRunner(ctx, ri.ID)
		if err != nil && ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			// The request went out: the node stops the runner whatever
			// becomes of this call.
			going = append(going, fmt.Sprintf("%s: still stopping when --timeout %s ended; the node goes on with the stop (it drains the runner's tasks for up to its timeouts.stop_drain, 30s by default, then sends the Shutdown frame, SIGTERM, SIGKILL): check with 'exo-actors remote status --node %s', or allow more time with --timeout",
				ri.ID, s.timeout, c.Addr()))
			continue
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v", ri.ID, err))
			continue
		}
		fmt.Fprintf(out, "node %-8s stopped %s: %s\n", c.NodeName(), res.RunnerID, stopSummary(res))
	}
	var parts []string
	if len(failed) > 0 {
		parts = append(parts, "stop failed for "+strings.Join(failed, "; "))
	}
	if len(going) > 0 {
		parts = append(parts, "stop not confirmed for "+strings.Join(going, "; "))
	}
	if len(parts) > 0 {
		return errors.New(strings.Join(parts, "; "))
	}
	return nil
}

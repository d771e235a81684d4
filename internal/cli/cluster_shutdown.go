package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/actors/membership"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// clusterShutdownOptions are the flags of `exo-actors cluster shutdown`.
type clusterShutdownOptions struct {
	cf           clusterFlags
	tls          gateway.TLSFiles
	asJSON       bool
	phaseTimeout time.Duration
	answerGrace  time.Duration
	goOnAfter    time.Duration
	timeout      time.Duration
}

func newClusterShutdownCmd(e *env) *cobra.Command {
	o := &clusterShutdownOptions{}
	cmd := &cobra.Command{
		Use:   "shutdown",
		Short: "Shut every member down together, phase by phase, and print the report tree",
		Long: "shutdown finds the cluster's members (as status does), dials each one's gateway and runs\n" +
			"SIGNALING, DRAINING and CLOSING on all of them in step: every member finishes a phase, or\n" +
			"misses it, before the next starts anywhere, so in-flight work everywhere drains before\n" +
			"anything closes. A member that does not answer a phase within --phase-timeout plus\n" +
			"--answer-grace is reported timed out and the rest goes on; it goes on alone after\n" +
			"--go-on-after. Exit 1 when a member missed a phase; 4 when every member answered but one cut tasks short or forced a runner (its line says what). See docs/cluster.md.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runClusterShutdown(cmd.Context(), e, o) },
	}
	f := cmd.Flags()
	o.cf.register(f, false)
	f.StringVar(&o.tls.CAFile, "tls-ca", "", "PEM CA of the nodes' certificates (turns TLS on)")
	f.StringVar(&o.tls.CertFile, "tls-cert", "", "PEM certificate of this client")
	f.StringVar(&o.tls.KeyFile, "tls-key", "", "PEM key of this client")
	f.BoolVar(&o.asJSON, "json", false, "print the report as JSON")
	f.DurationVar(&o.phaseTimeout, "phase-timeout", 30*time.Second, "each member's deadline for each phase")
	f.DurationVar(&o.answerGrace, "answer-grace", 2*time.Second, "how long past --phase-timeout to wait for a member's answer")
	f.DurationVar(&o.goOnAfter, "go-on-after", 0, "a member that hears of no next phase this long goes on alone (default phase timeout + answer grace + 5s)")
	f.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for the members' list and each dial")
	cmd.SetFlagErrorFunc(flagError)
	return cmd
}

func (o *clusterShutdownOptions) check() error {
	if o.phaseTimeout <= 0 {
		return usageErrorf("--phase-timeout %v: want a positive duration, e.g. --phase-timeout 30s", o.phaseTimeout)
	}
	if o.answerGrace <= 0 {
		return usageErrorf("--answer-grace %v: want a positive duration, e.g. --answer-grace 2s", o.answerGrace)
	}
	if o.goOnAfter < 0 {
		return usageErrorf("--go-on-after %v: want a positive duration, or leave it out for the default", o.goOnAfter)
	}
	if o.goOnAfter > 0 && o.goOnAfter <= o.phaseTimeout+o.answerGrace {
		return usageErrorf("--go-on-after %v must exceed --phase-timeout + --answer-grace (%v): a member would go on before the others finished the phase",
			o.goOnAfter, o.phaseTimeout+o.answerGrace)
	}
	if o.timeout <= 0 {
		return usageErrorf("--timeout %v: want a positive duration, e.g. --timeout 5s", o.timeout)
	}
	return checkTLSFlags(o.tls)
}

// runClusterShutdown finds the members, dials every gateway (nothing is
// shut down unless every member can be asked), runs the shutdown and prints
// the report.
func runClusterShutdown(parent context.Context, e *env, o *clusterShutdownOptions) error {
	if err := o.check(); err != nil {
		return err
	}
	cfg, err := o.cf.config()
	if err != nil {
		return err
	}
	qctx, cancel := context.WithTimeout(parent, o.timeout)
	defer cancel()
	st, err := membership.QueryStatus(qctx, cfg)
	if err != nil {
		if errors.Is(err, membership.ErrEtcdUnreachable) || strings.HasPrefix(err.Error(), "no member") {
			return err
		}
		return &UsageError{Err: err}
	}
	if len(st.Members) == 0 {
		// As cluster status says it (before, with automanaged, only
		// "nothing to shut down", no hint of the cluster the peers are in:
		// a docs-only trial).
		return fmt.Errorf("cluster %s has no members: nothing to shut down (%s)", cfg.Cluster, noMembersWhy(st, cfg))
	}
	if !st.Agree && st.Provider != membership.ProviderEtcd {
		why := "one is joining, rejoining or split"
		if o := st.DescribeOtherClusters(); o != "" {
			why = fmt.Sprintf("%s, not %q: check --cluster-peers", o, cfg.Cluster)
		}
		fmt.Fprintf(e.stderr, "cluster shutdown: the members' views disagree (%s); shutting down the %s listed\n",
			why, plural(len(st.Members), "member"))
	}
	sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].NodeName < st.Members[j].NodeName })
	for _, m := range st.Members {
		if m.Gateway == "" {
			return fmt.Errorf("member %s (%s) advertises no gateway: it is not an 'exo-actors node'; nothing was shut down", m.NodeName, m.ID)
		}
	}
	var opts []exo.DialOption
	if o.tls.Enabled() {
		opts = append(opts, exo.WithTLS(exo.TLSFiles(o.tls)))
	}
	var cs []*exo.Client
	defer func() { closeAll(cs) }()
	var members []exo.ShutdownMember
	for _, m := range st.Members {
		c, err := exo.Dial(qctx, m.Gateway, append(opts, exo.WithClientName("exo-actors cluster shutdown"))...)
		if err != nil {
			return fmt.Errorf("dial member %s at %s: %w; nothing was shut down", m.NodeName, m.Gateway, err)
		}
		cs = append(cs, c)
		members = append(members, exo.ShutdownMember{Name: m.NodeName, Addr: m.Gateway, Node: c})
	}
	if err := checkShutdownAccepted(parent, o.timeout, members, cs); err != nil {
		return err
	}
	rep, err := exo.ShutdownCluster(parent, members, exo.ClusterShutdownOptions{Cluster: cfg.Cluster, PhaseTimeout: o.phaseTimeout,
		AnswerGrace: o.answerGrace, GoOnAfter: o.goOnAfter, OnPhase: func(ph exo.Phase) {
			fmt.Fprintf(e.stderr, "cluster shutdown: %s: asking %s\n", ph, plural(len(members), "member"))
		}})
	if err != nil {
		return err
	}
	if o.asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprint(e.stdout, rep)
	}
	var missed []string
	unclean := 0
	for _, n := range rep.Nodes {
		if len(n.Missed) > 0 || len(n.Errors) > 0 {
			missed = append(missed, n.Name)
			continue
		}
		// It answered every phase; its own shutdown may still have cut
		// tasks short or forced a runner: the line the node prints, as
		// remote shutdown prints it.
		if line := remoteShutdownUnclean(exo.RemoteShutdownReport{Node: n.Name, Report: n.Report}); line != "" {
			// With --json, stdout is the one JSON document (a review:
			// the line after it broke every reader of it).
			if o.asJSON {
				fmt.Fprint(e.stderr, line)
			} else {
				fmt.Fprint(e.stdout, line)
			}
			unclean++
		}
	}
	if len(missed) > 0 {
		return fmt.Errorf("cluster %s: %s did not complete every phase (%s): see the report", cfg.Cluster,
			plural(len(missed), "member"), strings.Join(missed, ", "))
	}
	if unclean > 0 {
		// Exit 4, as the members themselves and remote shutdown. Before,
		// it exited 0 while its members exited 4 (a new user's trial).
		return &uncleanError{msg: fmt.Sprintf("cluster %s: %d of %s shut down, not cleanly (above)", cfg.Cluster, unclean, plural(len(rep.Nodes), "member"))}
	}
	return nil
}

// checkShutdownAccepted asks every member at once, each within timeout,
// before any is shut down, whether it accepts a remote shutdown. Before, a
// member started with --allow-remote-shutdown=false refused SIGNALING
// while the others went on through CLOSING: a new user's trial ended with
// two of three members shut down and the third serving alone, though
// docs/cluster.md promised that nothing is shut down unless every member
// can be asked.
func checkShutdownAccepted(parent context.Context, timeout time.Duration, members []exo.ShutdownMember, cs []*exo.Client) error {
	type answer struct {
		refuses bool
		err     error
	}
	answers := make([]answer, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() { // owner: checkShutdownAccepted, which waits
			defer wg.Done()
			ctx, cancel := context.WithTimeout(parent, timeout)
			defer cancel()
			answers[i].refuses, answers[i].err = c.RefusesShutdown(ctx)
		}()
	}
	wg.Wait()
	var refusing []string
	for i, a := range answers {
		if a.err != nil {
			return fmt.Errorf("ask member %s at %s whether it accepts a remote shutdown: %w; nothing was shut down", members[i].Name, members[i].Addr, a.err)
		}
		if a.refuses {
			refusing = append(refusing, fmt.Sprintf("%s (%s)", members[i].Name, members[i].Addr))
		}
	}
	if len(refusing) == 0 {
		return nil
	}
	return refusedShutdownError(refusing)
}

// refusedShutdownError names the members that refuse a remote shutdown
// ("NAME (ADDR)" each) and what to do.
func refusedShutdownError(refusing []string) error {
	who, verb, them := "member "+refusing[0], "does", "it with SIGTERM on its host"
	if len(refusing) > 1 {
		who, verb, them = fmt.Sprintf("%d members %s", len(refusing), strings.Join(refusing, ", ")), "do", "them with SIGTERM on their hosts"
	}
	return fmt.Errorf("%s %s not accept remote shutdown (started with --allow-remote-shutdown=false); nothing was shut down: "+
		"stop %s (a member leaves the cluster as it stops), then run cluster shutdown again for the others",
		who, verb, them)
}

package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync/atomic"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/exo-actors/exo-actors/internal/httpapi"
)

type statusOptions struct {
	addr    string
	json    bool
	timeout time.Duration
}

// newStatusCmd builds `exo-actors status`: a node's tree and scores from its
// /status endpoint.
func newStatusCmd(e *env) *cobra.Command {
	var o statusOptions
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print a node's supervision tree and health scores (from its /status endpoint)",
		Long: "status asks a node serving HTTP (a host with HTTPConfig.Addr, `exo-actors node --http ADDR`\n" +
			"or `exo-actors demo --http ADDR`) for its /status document and prints the supervision tree,\n" +
			"each runner's status, health score and components, restarts and next backoff, and the active\n" +
			"alerts. --json prints the document itself (schema: internal/httpapi/status.schema.json,\n" +
			"docs/operations.md).",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(o.addr) == "" {
				return requiredFlag(cmd.Flags(), "addr", "give the node's HTTP address, e.g. --addr 127.0.0.1:9464")
			}
			addr, err := statusAddr(o.addr) // status_addr.go
			if err != nil {
				return err
			}
			o.addr = addr
			if o.timeout <= 0 {
				return usageErrorf("--timeout %s: want a positive duration", o.timeout)
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runStatus(ctx, e.stdout, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.addr, "addr", "", "the node's HTTP address (host:port or http://host:port, as the demo and the node print it; a bare :PORT means 127.0.0.1)")
	f.BoolVar(&o.json, "json", false, "print the /status JSON document as it came")
	f.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long to wait for the answer")
	return cmd
}

func runStatus(ctx context.Context, out io.Writer, o statusOptions) error {
	addr, _ := httpapi.ListenAddr(o.addr)
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	url := "http://" + addr + "/status"
	var connected atomic.Bool // the TCP connection was made: what answered nothing is there
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { connected.Store(true) }})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	client, done := statusClient() // status_gateway.go
	defer done()
	resp, err := client.Do(req)
	if err != nil {
		timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
		if !timedOut {
			if gw := notHTTPStatus(ctx, addr); gw != nil { // status_gateway.go
				return gw
			}
		}
		return statusUnreachable(url, addr, o.timeout, connected.Load(), timedOut, err) // status_reach.go
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	if o.json {
		_, err := out.Write(body)
		return err
	}
	var doc httpapi.StatusDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("%s: not a status document: %w", url, err)
	}
	if doc.Schema != httpapi.Schema {
		return fmt.Errorf("%s: schema %q, this exo-actors reads %q", url, doc.Schema, httpapi.Schema)
	}
	printStatus(out, &doc)
	return nil
}

// statusCellMax is the widest STATUS cell of the runner table, in runes;
// a longer status is cut there and said in full under the table.
const statusCellMax = 48

func printStatus(out io.Writer, d *httpapi.StatusDoc) {
	n := d.Node
	// Removed runners (stopped, retired) are not in "runners" but are in
	// the table below while retention keeps them: say how many (a table
	// of one stopped runner under "runners 0" read as a contradiction).
	removed := ""
	if n.Removed > 0 {
		removed = fmt.Sprintf("  removed %d (stopped or retired, still listed)", n.Removed)
	}
	// A score of 0 before the monitor's first check read as a failing node
	// (an operator's trial: "score 0.000 unknown … checks 0" right after a
	// start): an unknown level has no score to show, only why.
	score := fmt.Sprintf("score %.3f %s", n.Score, n.Level)
	if n.Level == "unknown" {
		switch {
		case n.HealthError != "":
			score = "score - unknown (" + n.HealthError + ")"
		case healthDisabled(d.Tree):
			score = "score - unknown (health monitor disabled: no checks, no scores)"
		case n.Checks == 0:
			score = "score - unknown (no health check yet)"
		default:
			score = "score - unknown (no runner scored)"
		}
	}
	// Persistently failed runners are counted apart: once stopped they
	// are among the removed, not the runners ("runners 1 (1 ready, 1
	// persistently failed)  removed 1" read as a contradiction: an
	// operator's trial).
	fmt.Fprintf(out, "node %s  %s  runners %d (%d ready)  persistently failed %d%s  checks %d\n\n",
		n.State, score, n.Runners, n.Ready, n.Persistent, removed, n.Checks)
	if d.Tree != nil {
		printTree(out, d.Tree, "", "")
	}
	fmt.Fprintln(out)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUNNER\tGEN\tSTATUS\tHEALTH\tSCORE\tLEVEL\tPROC\tSTAT\tRES\tERR\tERRORS\tRESTARTS\tNEXT BACKOFF\tREASON")
	var cut []httpapi.RunnerStatus // statuses too long for the table, said in full below it
	for _, r := range d.Runners {
		c := r.Components
		status := r.Status
		if utf8.RuneCountInString(status) > statusCellMax {
			// A Failed(…) reason of 200 characters padded every row of the
			// table past the screen (a new user's trial).
			status = clip(status, statusCellMax-1) + "…"
			cut = append(cut, r)
		}
		// Not scored (unchecked, starting, stopped: level unknown): no
		// numbers, which read as a dead process (an operator's trial, the
		// monitor disabled: "0.000 unknown 0.00 0.00 0.00 0.00").
		score, parts, errs := "-", "-\t-\t-\t-", "-"
		if r.Level != "unknown" {
			score = fmt.Sprintf("%.3f", r.Score)
			parts = fmt.Sprintf("%.2f\t%.2f\t%.2f\t%.2f", c.Process, c.Status, c.Resources, c.Errors)
			errs = fmt.Sprint(r.FailuresInWindow)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.ID, r.Generation, status, r.Health,
			score, r.Level, parts, errs, r.Restarts,
			(time.Duration(r.NextBackoffS * float64(time.Second))).Round(time.Millisecond), r.Reason)
	}
	tw.Flush()
	for _, r := range cut {
		fmt.Fprintf(out, "runner %s status: %s\n", r.ID, r.Status)
	}
	for _, r := range d.Runners {
		// Frames that broke the protocol are logged and ignored, so the
		// runner can look healthy: said under the table, as remote run does.
		if r.ProtocolErrors > 0 {
			fmt.Fprintf(out, "runner %s broke the runner protocol %s: the node's log names each (docs/protocol.md); its program needs a fix\n",
				r.ID, plural(int(r.ProtocolErrors), "time"))
		}
		if r.LifecycleErrors > 0 {
			fmt.Fprintf(out, "runner %s: %s of its actor's lifecycle (a bug in exo-actors, logged at error: please report it with the node's log)\n",
				r.ID, plural(int(r.LifecycleErrors), "illegal transition"))
		}
	}
	for _, r := range d.Runners {
		for _, rec := range r.Recoveries {
			var steps []string
			for _, s := range rec.Steps {
				steps = append(steps, s.Name+":"+s.Outcome)
			}
			fmt.Fprintf(out, "recovery %d of %s (score %.3f, %s): %s → %s\n", rec.ID, r.ID, rec.Score, rec.Reason, strings.Join(steps, ", "), rec.Outcome)
		}
	}
	if len(d.Alerts) > 0 {
		fmt.Fprintln(out, "\nactive alerts:")
		for _, a := range d.Alerts {
			fmt.Fprintf(out, "  %-8s %-18s %-20s %s\n", a.Severity, a.RunnerID, a.Condition, a.Reason)
		}
	}
}

func printTree(out io.Writer, t *httpapi.TreeNode, prefix, branch string) {
	score := ""
	if t.Score != nil {
		score = fmt.Sprintf("  score %.3f", *t.Score)
	}
	state := t.State
	if utf8.RuneCountInString(state) > statusCellMax {
		state = clip(state, statusCellMax-1) + "…" // in full under the runner table
	}
	fmt.Fprintf(out, "%s%s%s  %s%s\n", prefix, branch, t.Name, state, score)
	child := prefix
	switch branch {
	case "├── ":
		child += "│   "
	case "└── ":
		child += "    "
	}
	for i, c := range t.Children {
		b := "├── "
		if i == len(t.Children)-1 {
			b = "└── "
		}
		printTree(out, c, child, b)
	}
}

// healthDisabled reports whether the tree says the node runs no health
// monitor (its node/health child "disabled").
func healthDisabled(t *httpapi.TreeNode) bool {
	if t == nil {
		return false
	}
	for _, c := range t.Children {
		if c.Kind == "health" {
			return c.State == "disabled"
		}
	}
	return false
}

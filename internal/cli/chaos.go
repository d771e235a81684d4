package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// chaosOptions are the flags of `exo-actors chaos` (docs/reliability.md).
type chaosOptions struct {
	duration time.Duration
	seed     int64
	nodes    int
	json     bool
	rate     float64 // steps per second
	runners  int     // built-in runners per node at the start
	maxHeap  float64 // MiB: a node's live heap above it is a violation
}

// Bounds of the chaos flags.
const (
	chaosMaxDuration = 2 * time.Hour
	chaosMaxRate     = 50.0
	chaosMaxNodes    = 8
)

func addChaosFlags(f *pflag.FlagSet, o *chaosOptions) {
	f.DurationVar(&o.duration, "duration", 60*time.Second, "how long steps are injected, at most 2h (then every task's outcome is awaited and the nodes shut down)")
	f.Int64Var(&o.seed, "seed", 0, "seed of the step schedule, positive; 0 or absent: taken from the clock (printed first, to replay with --seed)")
	f.IntVar(&o.nodes, "nodes", 3, "node processes to start on 127.0.0.1 (1-8)")
	f.BoolVar(&o.json, "json", false, "print the summary as one JSON object on stdout instead of the text summary (the log is on stderr either way)")
	f.Float64Var(&o.rate, "rate", 6, "steps per second, above 0 and at most 50 (each step injects one fault or chaos action)")
	f.IntVar(&o.runners, "runners", 2, "built-in runners per node at the start, 1-6 (spawn/stop steps change it)")
	f.Float64Var(&o.maxHeap, "max-heap-mib", 256, "bound on each node's live Go heap, in MiB")
}

// check validates the flags; every error is one line naming the flag.
func (o *chaosOptions) check() error {
	if o.duration <= 0 || o.duration > chaosMaxDuration {
		return usageErrorf("--duration %s: want more than 0 and at most %s", o.duration, chaosMaxDuration)
	}
	if o.seed < 0 {
		return usageErrorf("--seed %d: want a positive seed, or 0 for one from the clock", o.seed)
	}
	if o.nodes < 1 || o.nodes > chaosMaxNodes {
		return usageErrorf("--nodes %d: want 1 to %d", o.nodes, chaosMaxNodes)
	}
	if !(o.rate > 0 && o.rate <= chaosMaxRate) {
		return usageErrorf("--rate %g: want steps per second above 0 and at most %g", o.rate, chaosMaxRate)
	}
	if o.runners < 1 || o.runners > chaosMaxRunners {
		return usageErrorf("--runners %d: want 1 to %d per node", o.runners, chaosMaxRunners)
	}
	if !(o.maxHeap > 0) {
		return usageErrorf("--max-heap-mib %g: want a positive bound in MiB", o.maxHeap)
	}
	return nil
}

// newChaosCmd builds `exo-actors chaos`.
func newChaosCmd(e *env) *cobra.Command {
	var o chaosOptions
	cmd := &cobra.Command{
		Use:   "chaos",
		Short: "Run a local cluster under a seeded schedule of faults and check invariants",
		Long: "chaos starts --nodes node processes on 127.0.0.1 (each behind a TCP proxy it can cut),\n" +
			"and for --duration runs a schedule of steps reproducible from --seed: runner faults\n" +
			"(exit, SIGKILL, SIGSTOP hang, garbage, ignoring Shutdown, slow loading), spawn and stop,\n" +
			"cancel one and all, subscribers that leave, reconnect or read slowly, node kill -9 and\n" +
			"return, network cuts, and in-process systems with failing and hanging resource closes,\n" +
			"slow host hooks and Shutdown during startup, restart backoff and another shutdown.\n" +
			"Invariants are checked as it runs and at the end; each violation names the seed and\n" +
			"the step. Exit 0 only when every invariant held. See docs/reliability.md.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.check(); err != nil {
				return err
			}
			if o.seed == 0 {
				o.seed = time.Now().UnixNano()%1_000_000_000 + 1
			}
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return runChaos(ctx, e, o)
		},
	}
	addChaosFlags(cmd.Flags(), &o)
	return cmd
}

// chaosViolation is one broken invariant: the seed and step replay it.
type chaosViolation struct {
	Seed      int64  `json:"seed"`
	Step      int    `json:"step"`
	Invariant string `json:"invariant"`
	Detail    string `json:"detail"`
}

func (v chaosViolation) String() string {
	return fmt.Sprintf("seed %d step %d: %s: %s", v.Seed, v.Step, v.Invariant, v.Detail)
}

// chaosReport is the summary; --json prints exactly these fields.
type chaosReport struct {
	Seed                       int64            `json:"seed"`
	Steps                      int              `json:"steps"`
	Faults                     map[string]int   `json:"faults"`
	Tasks                      int              `json:"tasks"`
	Events                     uint64           `json:"events"`
	Violations                 []chaosViolation `json:"violations"`
	Panics                     int              `json:"panics"`
	OrphanProcesses            int              `json:"orphan_processes"`
	LeakedGoroutines           int              `json:"leaked_goroutines"`
	LostEvents                 uint64           `json:"lost_events"`
	DuplicateEvents            uint64           `json:"duplicate_events"`
	TasksWithoutTerminalStatus int              `json:"tasks_without_terminal_status"`
	MaxHeapMiB                 float64          `json:"max_heap_mib"`
	OK                         bool             `json:"ok"`
}

func (r *chaosReport) print(w io.Writer, elapsed time.Duration) {
	fmt.Fprintf(w, "\n== chaos summary (seed %d, %d steps, %.1fs)\n", r.Seed, r.Steps, elapsed.Seconds())
	kinds := make([]string, 0, len(r.Faults))
	total := 0
	for k, n := range r.Faults {
		kinds = append(kinds, k)
		total += n
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Faults[k]))
	}
	fmt.Fprintf(w, "faults   %d: %s\n", total, strings.Join(parts, ", "))
	fmt.Fprintf(w, "tasks    %d (without exactly one terminal status: %d)\n", r.Tasks, r.TasksWithoutTerminalStatus)
	fmt.Fprintf(w, "events   %d delivered (lost %d, duplicated %d)\n", r.Events, r.LostEvents, r.DuplicateEvents)
	fmt.Fprintf(w, "after    panics %d, orphan processes %d, leaked goroutines %d, max node heap %.1f MiB\n",
		r.Panics, r.OrphanProcesses, r.LeakedGoroutines, r.MaxHeapMiB)
	for _, v := range r.Violations {
		fmt.Fprintf(w, "VIOLATION %s\n", v)
	}
	fmt.Fprintf(w, "ok: %v\n", r.OK)
}

// runChaos runs one chaos run and prints its report. It returns an error
// (exit 1) unless every invariant held.
func runChaos(ctx context.Context, e *env, o chaosOptions) error {
	// The log (the seed, every fault, progress, violations) goes to stderr
	// with or without --json; stdout gets only the summary
	// (docs/reliability.md). Without --json it went to stdout.
	log := e.stderr
	fmt.Fprintf(log, "chaos: seed %d (replay with --seed %d), %d nodes, %s, %.1f steps/s\n", o.seed, o.seed, o.nodes, o.duration, o.rate)
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("chaos: cannot find the exo-actors binary to start nodes: %w", err)
	}
	start := time.Now()
	rep, err := newChaosRun(e, o, log, self).run(ctx)
	if err != nil {
		return err
	}
	if o.json {
		b, _ := json.Marshal(rep)
		fmt.Fprintln(e.stdout, string(b))
	} else {
		rep.print(e.stdout, time.Since(start))
	}
	if !rep.OK {
		return fmt.Errorf("chaos: %d invariant violations (seed %d; replay with --seed %d)", len(rep.Violations), o.seed, o.seed)
	}
	return nil
}

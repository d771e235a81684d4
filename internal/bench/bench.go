package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// Row names, in the order of the report.
const (
	RowEvents1Sub      = "events_1sub"
	RowEvents4Sub      = "events_4sub"
	RowDispatchP50     = "dispatch_p50"
	RowDispatchP99     = "dispatch_p99"
	RowCrashDetect     = "crash_detect"
	RowRestart         = "restart"
	RowShutdown100     = "shutdown_100"
	RowMemoryPerRunner = "memory_per_runner"
	RowHealthOverhead  = "health_overhead"
	RowDispatchB2B     = "dispatch_p50_b2b"
	RowFloodControl    = "flood_control_ms"
	RowFloodProbe      = "flood_probe_ms"
	RowHeapFlood       = "heap_flood"
	RowUptimeHeap      = "uptime_heap_growth"
)

// group is one measurement that produces one or more rows: rows measured
// together share their runners and floors (events_4sub's floor is
// events_1sub, shutdown_100 shuts down the runners memory_per_runner
// weighed).
type group struct {
	name string
	rows []string
	run  func(b *bencher, ctx context.Context) ([]Result, error)
}

func groups() []group {
	return []group{
		{"events", []string{RowEvents1Sub, RowEvents4Sub}, (*bencher).events},
		{"dispatch", []string{RowDispatchP50, RowDispatchP99, RowDispatchB2B}, (*bencher).dispatch},
		{"crash", []string{RowCrashDetect, RowRestart}, (*bencher).crash},
		{"runners", []string{RowShutdown100, RowMemoryPerRunner}, (*bencher).runners},
		{"health", []string{RowHealthOverhead}, (*bencher).healthOverhead},
		{"remote", []string{RowRemoteEvents, RowRemoteDispatchP50}, (*bencher).remote},
		{"failover", []string{RowFailoverMS}, (*bencher).failover},
		{"flood", []string{RowFloodControl, RowFloodProbe}, (*bencher).floodControl},
		{"heap_flood", []string{RowHeapFlood}, (*bencher).heapFlood},
		{"uptime", []string{RowUptimeHeap}, (*bencher).uptime},
	}
}

// Names returns every row name, in report order.
func Names() []string {
	var names []string
	for _, g := range groups() {
		names = append(names, g.rows...)
	}
	return names
}

// CheckOnly returns an error naming the valid rows if a name in only is not
// one of them.
func CheckOnly(only []string) error {
	valid := Names()
	for _, n := range only {
		if !slices.Contains(valid, n) {
			return fmt.Errorf("unknown row %q for --only: valid rows are %s", n, strings.Join(valid, ", "))
		}
	}
	return nil
}

// Sizes are the counts of a run. Quick and Full are the two the command
// offers; tests pass smaller ones.
type Sizes struct {
	Tokens          int // events: token chunks per task (the N of events_*)
	EventReps       int // events: timed repetitions (after one untimed warm-up)
	DispatchSamples int // dispatch: timed round trips of each kind
	DispatchWarmup  int // dispatch: untimed round trips of each kind first
	CrashSamples    int // crash: kills of each kind
	Runners         int // runners: idle runners shut down and weighed (100)
	RunnerReps      int // runners: repetitions
	FloodChunks     int // flood, heap_flood: chunks of the flooding task (1,000,000)
	FloodSamples    int // flood: runners stopped during a flood (and idle)
	FloodProbes     int // flood: control messages timed per flood (and idle)
	UptimeCycles    int // uptime: spawn/stop cycles (20,000)
	UptimeTasks     int // uptime: noop tasks per cycle (10)
}

// QuickSizes finish in well under 45 s on 2 cores; FullSizes are for the
// numbers in docs/performance.md.
var (
	QuickSizes = Sizes{Tokens: 50_000, EventReps: 3, DispatchSamples: 500, DispatchWarmup: 50, CrashSamples: 10, Runners: 100, RunnerReps: 1,
		FloodChunks: 100_000, FloodSamples: 5, FloodProbes: 20, UptimeCycles: 2_000, UptimeTasks: 10}
	FullSizes = Sizes{Tokens: 100_000, EventReps: 7, DispatchSamples: 3000, DispatchWarmup: 100, CrashSamples: 30, Runners: 100, RunnerReps: 3,
		FloodChunks: 1_000_000, FloodSamples: 10, FloodProbes: 40, UptimeCycles: 20_000, UptimeTasks: 10}
)

// Config configures a run. Zero fields take the documented defaults.
type Config struct {
	// Binary is the exo-actors binary every child runs: the built-in
	// runners of the measured paths and the floor children alike. Default:
	// os.Executable().
	Binary string
	// Env is added to the environment of every child (tests mark theirs).
	Env []string
	// Quick selects QuickSizes instead of FullSizes.
	Quick bool
	// Sizes, when not nil, overrides both.
	Sizes *Sizes
	// Only lists the rows to report (see Names); empty means all. Rows
	// measured together are measured together even if one is left out.
	Only []string
	// Logger receives the log of the measured nodes; nil discards it.
	Logger *logrus.Logger
	// Progress receives a line as each measurement starts; nil discards.
	Progress io.Writer
	// ChildStderr is the stderr of the floor children; nil discards it.
	// (The measured runners' stderr goes to their runner actor, as always.)
	ChildStderr *os.File
}

// runnerArgs are the flags of every built-in runner the bench starts,
// measured or floor: one layer and no delays, so the runtime's own cost
// shows; runner logs at error level only, so no stderr line is a cost.
var runnerArgs = []string{"--layers", "1", "--layer-delay", "0s", "--warmup-delay", "0s", "--token-delay", "0s", "--log-level", "error"}

// groupLimit bounds one measurement; past it every child is killed and the
// run fails. A full measurement takes under 30 s on 2 cores.
const groupLimit = 5 * time.Minute

// bencher is one run.
type bencher struct {
	cfg      Config
	sizes    Sizes
	children childSet // floor children not yet stopped
	bin      string
	env      []string // every child's environment
	log      *logrus.Logger
}

// Run measures the rows cfg selects and returns the report. It starts and
// ends its own child processes and actor systems; when ctx ends it stops
// them and returns ctx's error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := CheckOnly(cfg.Only); err != nil {
		return nil, err
	}
	b := &bencher{cfg: cfg, sizes: FullSizes, bin: cfg.Binary, log: cfg.Logger}
	if cfg.Quick {
		b.sizes = QuickSizes
	}
	if cfg.Sizes != nil {
		b.sizes = *cfg.Sizes
	}
	if err := b.sizes.validate(); err != nil {
		return nil, err
	}
	if b.bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("bench: cannot find this binary to run its children: %w", err)
		}
		b.bin = exe
	}
	b.env = append(os.Environ(), cfg.Env...)
	if b.log == nil {
		b.log = logrus.New()
		b.log.SetOutput(io.Discard)
		b.log.SetLevel(logrus.ErrorLevel)
	}
	rep := &Report{Go: runtime.Version(), CPUs: runtime.NumCPU(), Quick: cfg.Quick}
	rep.Commit, rep.Dirty = revision(ctx, b.bin)
	for _, g := range groups() {
		if !b.wanted(g.rows) {
			continue
		}
		b.progress("bench: measuring %s ...", strings.Join(g.rows, ", "))
		start := time.Now()
		var (
			res []Result
			err error
		)
		gctx, cancel := context.WithTimeout(ctx, groupLimit)
		release := b.guard(gctx)
		pprof.Do(gctx, pprof.Labels("bench", g.name), func(ctx context.Context) {
			res, err = g.run(b, ctx)
		})
		release()
		cancel()
		if err != nil {
			b.progress(" failed\n")
			if ctx.Err() != nil {
				return nil, fmt.Errorf("bench interrupted during %s: %w", g.name, ctx.Err())
			}
			if errors.Is(gctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("bench %s: not done within %s (every child was killed): %w", g.name, groupLimit, err)
			}
			return nil, fmt.Errorf("bench %s: %w", g.name, err)
		}
		b.progress(" %.1fs\n", time.Since(start).Seconds())
		for _, r := range res {
			if len(cfg.Only) == 0 || slices.Contains(cfg.Only, r.Name) {
				rep.Results = append(rep.Results, r)
			}
		}
	}
	return rep, nil
}

func (s Sizes) validate() error {
	if s.Tokens < 2 || s.EventReps < 1 || s.DispatchSamples < 1 || s.DispatchWarmup < 0 || s.CrashSamples < 1 || s.Runners < 1 || s.RunnerReps < 1 ||
		s.FloodChunks < 2 || s.FloodSamples < 1 || s.FloodProbes < 1 || s.UptimeCycles < 10 || s.UptimeTasks < 1 {
		return fmt.Errorf("bench: sizes %+v: want Tokens ≥ 2, FloodChunks ≥ 2, UptimeCycles ≥ 10, DispatchWarmup ≥ 0 and every other count ≥ 1", s)
	}
	return nil
}

func (b *bencher) wanted(rows []string) bool {
	if len(b.cfg.Only) == 0 {
		return true
	}
	for _, r := range rows {
		if slices.Contains(b.cfg.Only, r) {
			return true
		}
	}
	return false
}

func (b *bencher) progress(format string, args ...any) {
	if b.cfg.Progress != nil {
		fmt.Fprintf(b.cfg.Progress, format, args...)
	}
}

// revision returns the short commit the binary was built from and whether
// the tree had uncommitted changes: from the build's VCS stamp, or, when
// the build has none (-buildvcs=false, as `make build` may run), from git in
// the directory that holds the binary (bin/ of a checkout); "unknown" when
// neither says.
func revision(ctx context.Context, bin string) (string, bool) {
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			return rev[:min(7, len(rev))], dirty
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	git := func(args ...string) (string, error) {
		out, err := exec.CommandContext(ctx, "git", append([]string{"-C", filepath.Dir(bin)}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	rev, err := git("rev-parse", "--short", "HEAD")
	if err != nil || rev == "" {
		return "unknown", false
	}
	status, err := git("status", "--porcelain")
	return rev, err == nil && status != ""
}

// newSystem starts an actor system for a measured path: the bench's binary
// as the built-in runner, the bench's environment, hook as the event hook.
func (b *bencher) newSystem(hook exo.EventHook, policy exo.ErrorPolicy) (*exo.System, error) {
	return exo.New(exo.Config{
		Logger:             b.log,
		Hook:               hook,
		BuiltinBinary:      b.bin,
		Env:                b.env,
		ErrorPolicy:        policy,
		DeadLetterThrottle: 50 * time.Millisecond,
	})
}

// shutdownSystem shuts a system down on a path that does not measure it
// (cleanup, error paths): whatever ctx says, it gets a minute.
func shutdownSystem(sys *exo.System) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := sys.Shutdown(ctx)
	return err
}

// runnerSpec is the built-in runner every measured path spawns.
func runnerSpec() exo.RunnerSpec {
	return exo.RunnerSpec{Kind: "bench", Builtin: true, Args: runnerArgs}
}

// spawnReady spawns one runner and waits until it is Ready; it returns the
// runner's ID and its Ready event.
func (b *bencher) spawnReady(ctx context.Context, sys *exo.System, w *watcher) (string, seen, error) {
	id, err := sys.SpawnRunner(ctx, runnerSpec())
	if err != nil {
		return "", seen{}, err
	}
	r, err := w.await(ctx, id+" Ready", isStatus(id, 1, statusReady))
	return id, r, err
}

// median returns the median of xs (which it sorts).
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// best returns the least of xs: the run least disturbed by the rest of the
// machine.
func best(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Min(xs)
}

// percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of xs
// (which it sorts).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	k := int(float64(len(xs))*p/100+0.999999999) - 1
	return xs[min(max(k, 0), len(xs)-1)]
}

// durations converts to the unit (e.g. time.Microsecond).
func inUnit(d time.Duration, unit time.Duration) float64 { return float64(d) / float64(unit) }

// errJoin joins a run's error with a cleanup error.
func errJoin(err, cleanup error) error {
	if cleanup == nil {
		return err
	}
	return errors.Join(err, fmt.Errorf("cleanup: %w", cleanup))
}

// onFloor runs f with the profiler label path=floor, so that a CPU profile
// (--cpuprofile) tells the floor's samples from the measured path's:
// `go tool pprof -tagignore path=floor` shows the runtime alone.
func onFloor(ctx context.Context, f func()) {
	pprof.Do(ctx, pprof.Labels("path", "floor"), func(context.Context) { f() })
}

package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/exo-actors/exo-actors/internal/proc"
)

// Config says which runner to check and how long to wait. Zero durations
// take the defaults listed, which are the supervisor's own (RunnerTimeouts,
// TaskLimits) where it has one.
type Config struct {
	Command []string // the runner's executable and arguments; required
	Env     []string // added to this process's environment (KEY=VALUE)
	Dir     string   // working directory; empty means this process's

	// TaskKind is the kind of the tasks sent ("text_generation"); they carry
	// the parameter max_tokens, which each case sets, plus Params. Params
	// must not name max_tokens: Run refuses it rather than override it.
	TaskKind string
	Params   map[string]string

	Handshake         time.Duration // for Hello; 5s
	ReadyTimeout      time.Duration // from HelloAccepted to Ready; 30s
	HeartbeatInterval time.Duration // asked in HelloAccepted; 100ms
	HeartbeatWindow   time.Duration // the heartbeat case watches this long; 2s
	// HeartbeatGap is the longest wait for a heartbeat while a task runs,
	// in every case that runs one; max(20 × HeartbeatInterval, 2s): 20
	// intervals a heartbeat thread of its own misses only when it is
	// starved (a held GIL, heartbeats sent between tokens), not by a loaded
	// machine's scheduling, and below a node's own limits at its default
	// interval (health monitor 2.5s, the runner watchdog's 5s).
	HeartbeatGap time.Duration
	AckTimeout   time.Duration // Task → TaskAcknowledged; 5s
	CancelWait   time.Duration // Cancel → terminal TaskStatus; 2s
	TaskTimeout  time.Duration // a short task's whole life; 30s
	StopGrace    time.Duration // the Shutdown frame's timeout; 3s
	ExitGrace    time.Duration // HelloRefused or stdin EOF → exit; 3s

	// Only, when set, runs only the cases named.
	Only []string
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Handshake, 5*time.Second)
	def(&c.ReadyTimeout, 30*time.Second)
	def(&c.HeartbeatInterval, 100*time.Millisecond)
	def(&c.HeartbeatWindow, 2*time.Second)
	def(&c.HeartbeatGap, max(20*c.HeartbeatInterval, 2*time.Second))
	def(&c.AckTimeout, 5*time.Second)
	def(&c.CancelWait, 2*time.Second)
	def(&c.TaskTimeout, 30*time.Second)
	def(&c.StopGrace, 3*time.Second)
	def(&c.ExitGrace, 3*time.Second)
	if c.TaskKind == "" {
		c.TaskKind = "text_generation"
	}
	return c
}

// caseParams are the task parameters the cases set themselves.
var caseParams = []string{"max_tokens"}

// Outcome is how a case ended.
type Outcome string

// The outcomes.
const (
	Pass Outcome = "pass"
	Fail Outcome = "fail"
	Skip Outcome = "skip" // does not apply (a capability not announced)
)

// CaseResult is one case's outcome with its evidence.
type CaseResult struct {
	Name     string   `json:"name"`
	Checks   string   `json:"checks"`
	Outcome  Outcome  `json:"outcome"`
	Reason   string   `json:"reason,omitempty"` // why it failed or was skipped
	Evidence []string `json:"evidence,omitempty"`
	// Exit is how the process ended, if it did by itself before the case
	// ended ("" when the case killed it).
	Exit       string   `json:"exit,omitempty"`
	StderrTail []string `json:"stderr_tail,omitempty"` // on failure
	// StderrError is, on failure, the last stderr line that states an
	// error (a SyntaxError, a panic, a traceback's last line) when
	// StderrTail no longer holds it, and StderrBetween the count of lines
	// between it and StderrTail.
	StderrError   string `json:"stderr_error,omitempty"`
	StderrBetween int    `json:"stderr_between,omitempty"`
	DurationMS    int64  `json:"duration_ms"`
}

// Report is the suite's result.
type Report struct {
	Command []string     `json:"command"`
	Cases   []CaseResult `json:"cases"`
	Passed  int          `json:"passed"`
	Failed  int          `json:"failed"`
	Skipped int          `json:"skipped"`
}

// OK reports whether no case failed.
func (r *Report) OK() bool { return r.Failed == 0 }

// Case returns the result of the named case, or nil.
func (r *Report) Case(name string) *CaseResult {
	for i := range r.Cases {
		if r.Cases[i].Name == name {
			return &r.Cases[i]
		}
	}
	return nil
}

// Run runs the suite against cfg.Command, each case on a fresh process in a
// process group of its own, killed and reaped when the case ends. It returns
// an error only for a Config that cannot work (then no case ran): among
// them a command that is no executable (checkCommand), or one the first
// case could not start for want of its executable or working directory (a
// script's #! interpreter missing), which every case would fail alike. A
// runner that cannot start for another reason fails every case.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if len(cfg.Command) == 0 || cfg.Command[0] == "" {
		return nil, errors.New("no runner command: give it after --, e.g. exo-actors conformance -- exo-actors runner")
	}
	if err := checkCommand(cfg.Command[0], cfg.Dir); err != nil {
		return nil, err
	}
	for _, k := range caseParams {
		if _, ok := cfg.Params[k]; ok {
			return nil, fmt.Errorf("task parameter %s is set by each case; leave it out of the params (--param)", k)
		}
	}
	cfg = cfg.withDefaults()
	known := map[string]bool{}
	for _, c := range cases {
		known[c.name] = true
	}
	only := map[string]bool{}
	for _, n := range cfg.Only {
		if !known[n] {
			return nil, fmt.Errorf("unknown case %q: the cases are %s", n, strings.Join(Names(), ", "))
		}
		only[n] = true
	}
	if err := checkScript(&cfg); err != nil {
		return nil, err
	}
	sp := proc.NewSpawner()
	defer sp.Close()
	rep := &Report{Command: cfg.Command}
	for _, c := range cases {
		if len(only) > 0 && !only[c.name] {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		res, startErr := runCase(sp, &cfg, c)
		if len(rep.Cases) == 0 && startErr != nil {
			return nil, startErr
		}
		switch res.Outcome {
		case Pass:
			rep.Passed++
		case Fail:
			rep.Failed++
		case Skip:
			rep.Skipped++
		}
		rep.Cases = append(rep.Cases, res)
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("interrupted after %d of %d cases: %w", len(rep.Cases), len(cases), err)
	}
	return rep, nil
}

// checkScript refuses a runner script whose #! line cannot run it before
// any case: an interpreter run through env that is missing, or a line with
// Windows line endings, starts env, which exits 127, and every case would
// fail on it (a new user's trial); a missing interpreter itself fails the
// start (runCase). A command that is not found is left to the start.
func checkScript(cfg *Config) error {
	path := cfg.Command[0]
	if !strings.Contains(path, "/") {
		found, err := exec.LookPath(path)
		if err != nil {
			return nil
		}
		path = found
	}
	if i := proc.BadInterpreter(path, cfg.Dir, append(os.Environ(), cfg.Env...)); i != nil {
		return fmt.Errorf("runner command %q could not be started: %s", cfg.Command[0], i)
	}
	return nil
}

// runCase runs one case. startErr is set when the runner's executable
// could not be started at all (proc.StartError.NotFound): the same for
// every case.
func runCase(sp *proc.Spawner, cfg *Config, c testCase) (res CaseResult, startErr error) {
	res = CaseResult{Name: c.name, Checks: c.what}
	t0 := time.Now()
	defer func() { res.DurationMS = time.Since(t0).Milliseconds() }()
	s, err := start(sp, cfg, c.name)
	if err != nil {
		var se *proc.StartError
		if errors.As(err, &se) && se.NotFound {
			startErr = fmt.Errorf("runner command %q could not be started: %v; check the command after -- (a script's #! interpreter must exist too)",
				se.Path, innermost(se.Err))
			if se.Interpreter != "" {
				startErr = fmt.Errorf("runner command %q could not be started: %s", se.Path, se.Interpreter)
			}
		}
		res.Outcome, res.Reason = Fail, "could not start the runner: "+err.Error()
		return res, startErr
	}
	ev, err := c.run(s)
	// Two facts lead a failure's text over what the case checked: a
	// heartbeat gap while a task ran (a case that passed otherwise fails
	// on it), and an end the runner was not asked for.
	if err != nil && !errors.Is(err, errSkip) {
		if u := s.unasked(); u != nil {
			err = u
		}
	}
	if s.gap != nil && !errors.Is(err, errSkip) {
		err = s.gap // a case that skips is not judged (a review)
	}
	exitedByItself := s.exit
	s.close()
	res.Evidence = ev
	if exitedByItself != nil {
		res.Exit = exitedByItself.String()
	}
	switch {
	case err == nil:
		res.Outcome = Pass
	case errors.Is(err, errSkip):
		res.Outcome, res.Reason = Skip, strings.TrimPrefix(err.Error(), errSkip.Error()+": ")
	default:
		res.Outcome, res.Reason = Fail, err.Error()
		res.StderrTail = s.stderr
		res.StderrError, res.StderrBetween = s.stderrCause()
	}
	if s.dropped > 0 {
		res.Evidence = append(res.Evidence, fmt.Sprintf("%d frames dropped unread (more than %d queued)", s.dropped, maxQueued))
	}
	return res, nil
}

// WriteText prints the report for people: one line per case with its
// evidence below, then the totals.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "conformance of %s\n", strings.Join(r.Command, " "))
	for _, c := range r.Cases {
		fmt.Fprintf(&b, "%-4s %-22s %s\n", strings.ToUpper(string(c.Outcome)), c.Name, c.Checks)
		if c.Reason != "" {
			fmt.Fprintf(&b, "       %s: %s\n", map[Outcome]string{Fail: "failed", Skip: "skipped"}[c.Outcome], c.Reason)
		}
		for _, e := range c.Evidence {
			fmt.Fprintf(&b, "       %s\n", e)
		}
		if c.Exit != "" && c.Outcome == Fail {
			fmt.Fprintf(&b, "       process: %s\n", c.Exit)
		}
		if c.StderrError != "" {
			fmt.Fprintf(&b, "       stderr| %s\n", c.StderrError)
			if c.StderrBetween > 0 {
				fmt.Fprintf(&b, "       stderr| … (%s)\n", lines(c.StderrBetween))
			}
		}
		for _, l := range c.StderrTail {
			fmt.Fprintf(&b, "       stderr| %s\n", l)
		}
	}
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped\n", r.Passed, r.Failed, r.Skipped)
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON prints the report as one JSON document, for CI.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// lines says "1 line" or "n lines".
func lines(n int) string {
	if n == 1 {
		return "1 line"
	}
	return fmt.Sprintf("%d lines", n)
}

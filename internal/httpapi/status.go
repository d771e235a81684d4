package httpapi

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/actors/health"
)

// Schema names the version of the /status document.
const Schema = "exo-actors/status/v1"

// StatusDoc is the /status document (status.schema.json).
type StatusDoc struct {
	Schema     string               `json:"schema"`
	At         time.Time            `json:"at"`
	Node       NodeStatus           `json:"node"`
	Thresholds Thresholds           `json:"thresholds"`
	Weights    health.Weights       `json:"weights"`
	Tree       *TreeNode            `json:"tree"`
	Runners    []RunnerStatus       `json:"runners"`
	Alerts     []health.ActiveAlert `json:"alerts"`
}

// NodeStatus sums up the node.
type NodeStatus struct {
	State  string  `json:"state"` // "running" or "shutting_down"
	Score  float64 `json:"score"`
	Level  string  `json:"level"`
	Checks uint64  `json:"checks"`
	// Runners counts the runners not removed; Removed those removed
	// (stopped, retired) that retention still lists in runners[].
	Runners    int    `json:"runners"`
	Removed    int    `json:"removed"`
	Ready      int    `json:"ready"`
	Persistent int    `json:"persistently_failed"`
	Worst      string `json:"worst,omitempty"`
	// HealthError is why the health monitor gave no report (it did not
	// answer in time, the node is stopping); empty when it answered or is
	// disabled.
	HealthError string `json:"health_error,omitempty"`
}

// Thresholds are the health levels' lower bounds.
type Thresholds struct {
	Healthy  float64 `json:"healthy"`
	Degraded float64 `json:"degraded"`
}

// TreeNode is one actor of the supervision tree.
type TreeNode struct {
	Name     string      `json:"name"`
	Kind     string      `json:"kind"` // node, health, streams, stream, resources, resource, runners, runner
	State    string      `json:"state"`
	Score    *float64    `json:"score,omitempty"`
	Children []*TreeNode `json:"children,omitempty"`
}

// RunnerStatus is one runner in the /status document.
type RunnerStatus struct {
	ID            string            `json:"id"`
	Kind          string            `json:"kind"`
	Generation    uint64            `json:"generation"`
	Pid           int               `json:"pid"`
	Status        string            `json:"status"`
	StatusSince   time.Time         `json:"status_since"`
	Health        string            `json:"health_state"`
	Score         float64           `json:"score"`
	Level         string            `json:"level"`
	Components    health.Components `json:"components"`
	Reason        string            `json:"reason,omitempty"`
	HeartbeatAgeS float64           `json:"heartbeat_age_s"`
	RSSBytes      uint64            `json:"rss_bytes"`
	CPUCores      float64           `json:"cpu_cores"`
	Restarts      int               `json:"restarts"`
	Restarting    bool              `json:"restarting"`
	RestartInS    float64           `json:"restart_in_s"`
	NextBackoffS  float64           `json:"next_backoff_s"`
	Tasks         TaskStatus        `json:"tasks"`
	LastStopSteps []StopStep        `json:"last_stop_steps"`
	LastStopTotal float64           `json:"last_stop_total_s"`
	Recoveries    []health.Recovery `json:"recoveries"`
	Recovering    *health.Recovery  `json:"recovering,omitempty"`
	Errors        []ErrorRecord     `json:"errors"`
	// ProtocolErrors counts the frames of this runner (all its processes)
	// that broke the runner protocol: logged by the node, never applied
	// (RunnerInfo.ProtocolErrors). Not 0 means the runner program needs a
	// fix even while its tasks pass; the node's log names each.
	ProtocolErrors uint64 `json:"protocol_errors"`
	// LifecycleErrors counts illegal transitions of the runner actor: a bug
	// in exo-actors, always 0 unless something is wrong there.
	LifecycleErrors uint64 `json:"lifecycle_errors"`
	// FailuresInWindow counts the runner's errors within the error window
	// (its process's failures and its tasks' errors), what the errors
	// component's rate is computed from; 0 when unchecked.
	FailuresInWindow int `json:"failures_in_window"`
}

// TaskStatus is a runner's task figures.
type TaskStatus struct {
	Pending        int     `json:"pending"`
	Ended          uint64  `json:"ended"`
	Completed      uint64  `json:"completed"`
	CompletionRate float64 `json:"completion_rate"`
	MeanLatencyS   float64 `json:"mean_latency_s"`
	P99LatencyS    float64 `json:"p99_latency_s"`
}

// StopStep is one step of the runner's last stop.
type StopStep struct {
	Name      string  `json:"name"`
	DurationS float64 `json:"duration_s"`
}

// ErrorRecord is an error record, as /status shows it.
type ErrorRecord struct {
	ID         uint64    `json:"id"`
	Time       time.Time `json:"time"`
	Kind       string    `json:"kind"`
	Severity   string    `json:"severity"`
	Action     string    `json:"action"`
	Attempt    int       `json:"attempt"`
	DelayS     float64   `json:"delay_s"`
	Resolution string    `json:"resolution"`
	Message    string    `json:"message"`
	Note       string    `json:"note,omitempty"`
}

// maxRecords is how many error records /status shows per runner (newest).
const maxRecords = 10

// BuildStatus gathers the /status document from the node.
func BuildStatus(ctx context.Context, n *actors.Node) (*StatusDoc, error) {
	infos, err := n.Runners(ctx)
	if err != nil {
		return nil, fmt.Errorf("runners: %w", err)
	}
	hrep, herr := n.Health(ctx) // a disabled monitor leaves the scores out
	settings := n.HealthSettings()
	doc := &StatusDoc{Schema: Schema, At: time.Now(), Thresholds: Thresholds{settings.Healthy, settings.Degraded},
		Weights: settings.Weights, Alerts: hrep.Alerts, Runners: []RunnerStatus{}}
	if doc.Alerts == nil {
		doc.Alerts = []health.ActiveAlert{}
	}
	doc.Node = NodeStatus{State: "running", Score: hrep.Node.Value, Level: hrep.Node.Level.String(), Checks: hrep.Checks,
		Runners: liveCount(infos), Removed: len(infos) - liveCount(infos), Persistent: hrep.Node.Persistent, Worst: hrep.Node.Worst}
	if herr != nil {
		doc.Node.Level = "unknown"
		if !settings.Disabled {
			doc.Node.HealthError = herr.Error()
		}
	}
	if n.ShuttingDown() {
		doc.Node.State = "shutting_down"
	}
	byRunner := map[string]actors.RunnerHealth{}
	for _, r := range hrep.Runners {
		byRunner[r.RunnerID] = r
	}
	records := map[string][]ErrorRecord{}
	for _, r := range n.Policy().Records() {
		if r.RunnerID != "" {
			records[r.RunnerID] = append(records[r.RunnerID], errorRecord(r))
		}
	}
	tree := &TreeNode{Name: "node", Kind: "node", State: doc.Node.State}
	if doc.Node.Level != "unknown" {
		tree.Score = ptr(doc.Node.Score) // none to show before a check, or without the monitor
	}
	hstate := "running"
	switch {
	case settings.Disabled:
		hstate = "disabled"
	case herr != nil:
		hstate = "error" // node.health_error says why
	}
	tree.Children = append(tree.Children, &TreeNode{Name: "node/health", Kind: "health", State: hstate})
	streams := &TreeNode{Name: "node/streams", Kind: "streams", State: "running"}
	stats := n.StreamStats()
	topics := make([]string, 0, len(stats))
	for t := range stats {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	for _, t := range topics {
		s := stats[t]
		st := "open"
		switch {
		case s.Stopped:
			st = "stopped"
		case s.Closed:
			st = "closed"
		}
		streams.Children = append(streams.Children, &TreeNode{Name: "stream-" + t, Kind: "stream",
			State: fmt.Sprintf("%s: %d published, %d subscribers", st, s.Published, s.Subscribers)})
	}
	tree.Children = append(tree.Children, streams)
	res := &TreeNode{Name: "node/resources", Kind: "resources", State: "running"}
	if snap, err := n.Resources(ctx); err == nil {
		for _, r := range snap.Resources {
			res.Children = append(res.Children, &TreeNode{Name: r.Name, Kind: "resource", State: r.State.String()})
		}
	} else {
		res.State = "no answer: " + err.Error()
	}
	tree.Children = append(tree.Children, res)
	runners := &TreeNode{Name: "node/runners", Kind: "runners", State: "running"}
	for _, in := range infos {
		h, scored := byRunner[in.ID]
		if scored && h.Generation != in.Generation && !in.Removed() {
			// A new process the monitor has not checked yet: none of the
			// previous generation's score, level or reason beside it.
			// Waiting in backoff already (it failed before any check saw
			// it: a crash loop) is restarting, not starting.
			state := actors.RunnerStarting
			if in.Restarting {
				state = actors.RunnerRestarting
			}
			h = actors.RunnerHealth{RunnerID: in.ID, Generation: in.Generation, State: state,
				Tasks: h.Tasks, Recoveries: h.Recoveries, Recovering: h.Recovering, LastStop: h.LastStop, LastStopTotal: h.LastStopTotal}
		}
		if scored && doc.Node.State == "shutting_down" && h.State == actors.RunnerLive {
			h.State = actors.RunnerDraining // SIGNALING began since the last check
		}
		rs := RunnerStatus{ID: in.ID, Kind: in.Kind, Generation: in.Generation, Pid: in.Pid, Status: in.StatusText(),
			StatusSince: in.StatusSince, Health: h.State, Score: h.Value, Level: h.Level.String(), Components: h.Components,
			Reason: h.Reason, HeartbeatAgeS: h.HeartbeatAge.Seconds(), RSSBytes: h.RSS, CPUCores: h.CPU,
			Restarts: max(int(in.Generation)-1, 0), Restarting: in.Restarting, RestartInS: in.RestartIn.Seconds(),
			NextBackoffS: in.NextDelay.Seconds(), Recoveries: h.Recoveries, Recovering: h.Recovering,
			ProtocolErrors: in.ProtocolErrors, LifecycleErrors: in.LifecycleErrors, FailuresInWindow: h.Failures,
			LastStopSteps: []StopStep{}, LastStopTotal: h.LastStopTotal.Seconds(), Errors: []ErrorRecord{},
			Tasks: TaskStatus{Pending: h.Tasks.Pending, Ended: h.Tasks.Ended, Completed: h.Tasks.Completed,
				CompletionRate: h.Tasks.CompletionRate, MeanLatencyS: h.Tasks.MeanLatency.Seconds(), P99LatencyS: h.Tasks.P99Latency.Seconds()}}
		if !scored {
			rs.Health, rs.Level, rs.Tasks.CompletionRate = "unchecked", "unknown", 1
		}
		if rs.Recoveries == nil {
			rs.Recoveries = []health.Recovery{}
		}
		for _, s := range h.LastStop {
			rs.LastStopSteps = append(rs.LastStopSteps, StopStep{Name: s.Name, DurationS: s.Duration.Seconds()})
		}
		if recs := records[in.ID]; len(recs) > 0 {
			rs.Errors = recs[max(len(recs)-maxRecords, 0):]
		}
		doc.Runners = append(doc.Runners, rs)
		node := &TreeNode{Name: "runner-" + in.ID, Kind: "runner", State: in.StatusText()}
		if scored && h.Level != 0 {
			node.Score = ptr(h.Value)
		}
		runners.Children = append(runners.Children, node)
	}
	tree.Children = append(tree.Children, runners)
	doc.Tree = tree
	doc.Node.Ready = readyCount(infos, byRunner) // as /readyz counts them
	return doc, nil
}

func errorRecord(r errhandler.Record) ErrorRecord {
	action := r.Decision.Action.String()
	if r.Decision.Then != 0 {
		action += " then " + r.Decision.Then.String()
	}
	return ErrorRecord{ID: r.ID, Time: r.Time, Kind: string(r.Kind), Severity: r.Decision.Severity.String(), Action: action,
		Attempt: r.Attempt, DelayS: r.Delay.Seconds(), Resolution: r.Resolution.String(), Message: r.Message, Note: r.Note}
}

func ptr(v float64) *float64 { return &v }

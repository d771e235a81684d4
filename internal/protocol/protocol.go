package protocol

import (
	"fmt"
	"strings"
	"time"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// The protocol versions this build speaks, inclusive.
const (
	MinVersion uint32 = 1
	MaxVersion uint32 = 1
)

// Capabilities a runner may announce in Hello.
const (
	CapCancel   = "cancel"   // honours Cancel frames
	CapProgress = "progress" // heartbeats carry progress counters
)

// Environment variables the supervisor sets for a runner process.
const (
	// EnvRunnerID carries the runner's ID; the runner echoes it in Hello.
	EnvRunnerID = "EXO_RUNNER_ID"
)

// DefaultHeartbeatInterval is how often a runner heartbeats unless the
// supervisor says otherwise in HelloAccepted.
const DefaultHeartbeatInterval = 500 * time.Millisecond

// VersionError says two version ranges do not overlap, naming both.
type VersionError struct {
	RunnerMin, RunnerMax         uint32
	SupervisorMin, SupervisorMax uint32
}

func (e *VersionError) Error() string {
	switch {
	case e.RunnerMin == 0 && e.RunnerMax == 0:
		return fmt.Sprintf("the runner's Hello gives no protocol versions (min_version and max_version are 0; the supervisor speaks [%d, %d]): send the range the runner speaks, e.g. min_version %d, max_version %d",
			e.SupervisorMin, e.SupervisorMax, e.SupervisorMax, e.SupervisorMax)
	case e.RunnerMin > e.RunnerMax:
		return fmt.Sprintf("the runner's Hello gives an empty protocol version range [%d, %d] (min_version above max_version; the supervisor speaks [%d, %d]): send min_version <= max_version",
			e.RunnerMin, e.RunnerMax, e.SupervisorMin, e.SupervisorMax)
	}
	return fmt.Sprintf("protocol versions do not overlap: runner speaks [%d, %d], supervisor speaks [%d, %d]; upgrade the older side",
		e.RunnerMin, e.RunnerMax, e.SupervisorMin, e.SupervisorMax)
}

// Negotiate picks the highest version in both inclusive ranges, or returns a
// *VersionError naming both (also when a range is empty, min > max).
func Negotiate(runnerMin, runnerMax, supMin, supMax uint32) (uint32, error) {
	lo, hi := max(runnerMin, supMin), min(runnerMax, supMax)
	if runnerMin > runnerMax || supMin > supMax || lo > hi {
		return 0, &VersionError{RunnerMin: runnerMin, RunnerMax: runnerMax, SupervisorMin: supMin, SupervisorMax: supMax}
	}
	return hi, nil
}

// Status names, as exo spells them.
type Status = exov1.RunnerStatusKind

// Short names of the statuses for logs and docs.
var statusNames = map[Status]string{
	exov1.RunnerStatusKind_RUNNER_STATUS_KIND_UNSPECIFIED:   "Unspecified",
	exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE:          "Idle",
	exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING:    "Connecting",
	exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTED:     "Connected",
	exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING:       "Loading",
	exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED:        "Loaded",
	exov1.RunnerStatusKind_RUNNER_STATUS_KIND_WARMING_UP:    "WarmingUp",
	exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY:         "Ready",
	exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING:       "Running",
	exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN: "ShuttingDown",
	exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN:      "Shutdown",
	exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED:        "Failed",
}

// StatusName returns exo's name of a status, e.g. "WarmingUp".
func StatusName(s Status) string {
	if n, ok := statusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("Status(%d)", int32(s))
}

// FormatStatus renders a status with its data: "Loading(3/8)",
// "Failed(exit code 3)".
func FormatStatus(s *exov1.RunnerStatus) string {
	switch s.GetKind() {
	case exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING:
		return fmt.Sprintf("Loading(%d/%d)", s.GetLayersLoaded(), s.GetTotalLayers())
	case exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED:
		return fmt.Sprintf("Failed(%s)", s.GetErrorMessage())
	}
	return StatusName(s.GetKind())
}

const (
	idle         = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_IDLE
	connecting   = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING
	connected    = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTED
	loading      = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING
	loaded       = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADED
	warmingUp    = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_WARMING_UP
	ready        = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_READY
	running      = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_RUNNING
	shuttingDown = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTTING_DOWN
	shutdown     = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_SHUTDOWN
	failed       = exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED
)

// transitions lists, for each status, the statuses a runner may report next.
// ShuttingDown and Failed may follow any live status and are handled in
// ValidTransition.
var transitions = map[Status][]Status{
	idle:       {connecting, loading},
	connecting: {connected},
	connected:  {loading},
	loading:    {loading, loaded},
	loaded:     {warmingUp, ready},
	warmingUp:  {ready},
	ready:      {running},
	running:    {running, ready},
	// shuttingDown → shutdown only
	shuttingDown: {shutdown},
}

// ValidTransition reports whether a runner may go from one status to the
// next. Failed may follow any status but Shutdown and Failed; ShuttingDown may
// follow any live status.
func ValidTransition(from, to Status) bool {
	if from == shutdown || from == failed {
		return false
	}
	if to == failed {
		return true
	}
	if to == shuttingDown {
		return from != shuttingDown
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// LegalAfter names the statuses that may follow from, for error texts:
// "Loading, Loaded, ShuttingDown or Failed"; "nothing (it is terminal)"
// after Shutdown and Failed.
func LegalAfter(from Status) string {
	if Terminal(from) {
		return "nothing (it is terminal)"
	}
	var names []string
	for _, s := range transitions[from] {
		names = append(names, StatusName(s))
	}
	if from != shuttingDown {
		names = append(names, StatusName(shuttingDown))
	}
	names = append(names, StatusName(failed))
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Terminal reports whether a status ends a process's life.
func Terminal(s Status) bool { return s == shutdown || s == failed }

// LoadingProblem says what is wrong with a Loading report to, following
// from, or "" when it is good: total_layers above 0, layers_loaded at most
// total_layers, and after a Loading report the same total and no fewer
// layers (a count that went down restarted the loading-stall bound; a
// Python runner's trial had Loading(2/4) → (1/4), (6/4), (3/0) applied).
// The Go SDK's Session.Loading keeps the same rules.
func LoadingProblem(from, to *exov1.RunnerStatus) string {
	l, n := to.GetLayersLoaded(), to.GetTotalLayers()
	switch {
	case n == 0:
		return fmt.Sprintf("status Loading(%d/0): total_layers must be above 0", l)
	case l > n:
		return fmt.Sprintf("status Loading(%d/%d): layers_loaded must not exceed total_layers", l, n)
	case from.GetKind() != loading:
		return ""
	case n != from.GetTotalLayers():
		return fmt.Sprintf("status Loading(%d/%d) after Loading(%d/%d): total_layers may not change", l, n, from.GetLayersLoaded(), from.GetTotalLayers())
	case l < from.GetLayersLoaded():
		return fmt.Sprintf("status Loading(%d/%d) after Loading(%d/%d): layers_loaded may not go down", l, n, from.GetLayersLoaded(), from.GetTotalLayers())
	}
	return ""
}

package cli

import (
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/exo-actors/exo-actors/actors"

	exo "github.com/exo-actors/exo-actors/runtime"
)

// nodeTimeouts is the config's "timeouts" section: the node's
// exo.RunnerTimeouts, one key per field, each a Go duration string
// ("10s"); a key left out keeps its default. RunnerSpec carries no
// timeouts, so they are node-wide, as Config.Timeouts is in the Go API.
type nodeTimeouts struct {
	Handshake         string `json:"handshake"`          // RunnerTimeouts.Handshake
	HeartbeatInterval string `json:"heartbeat_interval"` // RunnerTimeouts.HeartbeatInterval
	HeartbeatTimeout  string `json:"heartbeat_timeout"`  // RunnerTimeouts.HeartbeatTimeout
	ProgressTimeout   string `json:"progress_timeout"`   // RunnerTimeouts.ProgressTimeout
	LoadingStall      string `json:"loading_stall"`      // RunnerTimeouts.LoadingStall
	ExitGrace         string `json:"exit_grace"`         // RunnerTimeouts.ExitGrace
	StopGrace         string `json:"stop_grace"`         // RunnerTimeouts.StopGrace
	TermWait          string `json:"term_wait"`          // RunnerTimeouts.TermWait
	Drain             string `json:"drain"`              // RunnerTimeouts.Drain
	StopDrain         string `json:"stop_drain"`         // RunnerTimeouts.StopDrain
	FrameStall        string `json:"frame_stall"`        // RunnerTimeouts.FrameStall
}

// parseNodeTimeouts checks the "timeouts" section and turns it into
// exo.RunnerTimeouts; errors name the JSON key (timeouts.KEY).
func parseNodeTimeouts(t *nodeTimeouts) (exo.RunnerTimeouts, error) {
	var out exo.RunnerTimeouts
	if t == nil {
		return out, nil
	}
	for _, f := range []struct {
		key, v string
		to     *time.Duration
	}{
		{"handshake", t.Handshake, &out.Handshake},
		{"heartbeat_interval", t.HeartbeatInterval, &out.HeartbeatInterval},
		{"heartbeat_timeout", t.HeartbeatTimeout, &out.HeartbeatTimeout},
		{"progress_timeout", t.ProgressTimeout, &out.ProgressTimeout},
		{"loading_stall", t.LoadingStall, &out.LoadingStall},
		{"exit_grace", t.ExitGrace, &out.ExitGrace},
		{"stop_grace", t.StopGrace, &out.StopGrace},
		{"term_wait", t.TermWait, &out.TermWait},
		{"drain", t.Drain, &out.Drain},
		{"stop_drain", t.StopDrain, &out.StopDrain},
		{"frame_stall", t.FrameStall, &out.FrameStall},
	} {
		if err := parseDurationKey("timeouts."+f.key, f.v, f.to); err != nil {
			return out, err
		}
	}
	if err := actors.RunnerTimeouts(out).CheckConflicts(timeoutKey); err != nil {
		return out, errors.New(strings.TrimPrefix(err.Error(), actors.ErrConflictingTimeouts.Error()+": "))
	}
	return out, nil
}

// timeoutKey names a RunnerTimeouts field as the config does: the JSON key
// of the nodeTimeouts field of the same name ("HeartbeatTimeout" →
// "timeouts.heartbeat_timeout").
func timeoutKey(field string) string {
	f, ok := reflect.TypeFor[nodeTimeouts]().FieldByName(field)
	if !ok {
		return "timeouts (RunnerTimeouts." + field + ")"
	}
	return "timeouts." + f.Tag.Get("json")
}

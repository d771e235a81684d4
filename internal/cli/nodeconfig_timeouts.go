package cli

import (
	"fmt"
	"time"

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
		if f.v == "" {
			continue
		}
		d, err := time.ParseDuration(f.v)
		if err != nil {
			return out, fmt.Errorf(`timeouts.%s: %q is not a duration (want e.g. "10s")`, f.key, f.v)
		}
		if d <= 0 {
			return out, fmt.Errorf(`timeouts.%s: %q: want a positive duration (e.g. "10s"), or leave the key out for the default`, f.key, f.v)
		}
		*f.to = d
	}
	eff := out.WithDefaults()
	if eff.HeartbeatInterval >= eff.HeartbeatTimeout {
		return out, fmt.Errorf("timeouts: heartbeat_interval %v must be below heartbeat_timeout %v (a runner beating at the interval would be judged hung)",
			eff.HeartbeatInterval, eff.HeartbeatTimeout)
	}
	if eff.FrameStall >= eff.HeartbeatTimeout {
		return out, fmt.Errorf("timeouts: frame_stall %v must be below heartbeat_timeout %v (a stuck frame would look like a hang)",
			eff.FrameStall, eff.HeartbeatTimeout)
	}
	return out, nil
}

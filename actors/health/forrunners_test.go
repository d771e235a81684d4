package health_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/health"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestForRunnersOnTimeRunnerStaysHealthy: a runner that heartbeats on time
// every 2s (HeartbeatTimeout 4s) shows a heartbeat age up to 2s at a check
// just before a beat. With the defaults taken from the timeout alone the
// limit was 4s/2 = 2s, so that check scored it 0 (unhealthy: "no heartbeat
// for 2s (limit 2s)") and a few such checks restarted it; ForRunners makes
// the grace one interval and the limit two, so it stays healthy, also while
// Loading, and one late beat (age 3.9s) is not yet silence.
func TestForRunnersOnTimeRunnerStaysHealthy(t *testing.T) {
	const iv, timeout = 2 * time.Second, 4 * time.Second
	old := health.Config{}.WithDefaults(timeout)
	if s := health.Compute(old, health.Inputs{Alive: true, HeartbeatAge: iv, Status: ready}); s.Level != health.Unhealthy {
		t.Fatalf("the timeout-only defaults: %v, want the fight this test is about (unhealthy)", s)
	}
	c := health.Config{}.ForRunners(iv, timeout)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	loading0 := &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_LOADING, TotalLayers: 8}
	for _, in := range []health.Inputs{
		{Alive: true, HeartbeatAge: iv, Status: ready},
		{Alive: true, HeartbeatAge: iv, Status: loading0},
		{Alive: true, HeartbeatAge: 2*iv - 100*time.Millisecond, Status: ready},
	} {
		if s := health.Compute(c, in); s.Level != health.Healthy {
			t.Errorf("age %s, %s: %v, want healthy", in.HeartbeatAge, in.Status.GetKind(), s)
		}
	}
	if s := health.Compute(c, health.Inputs{Alive: true, HeartbeatAge: 2 * iv, Status: ready}); s.Level != health.Unhealthy {
		t.Errorf("age of two intervals: %v, want unhealthy (silent)", s)
	}
}

func TestForRunnersDefaults(t *testing.T) {
	for _, tc := range []struct {
		iv, timeout, grace, limit time.Duration
	}{
		{500 * time.Millisecond, 5 * time.Second, time.Second, 2500 * time.Millisecond}, // the defaults: as before
		{20 * time.Millisecond, 400 * time.Millisecond, time.Second, 2 * time.Second},   // tests' short timeouts: as before
		{2 * time.Second, 4 * time.Second, 2 * time.Second, 4 * time.Second},
		{3 * time.Second, 20 * time.Second, 3 * time.Second, 10 * time.Second},
	} {
		c := health.Config{}.ForRunners(tc.iv, tc.timeout)
		if c.HeartbeatGrace != tc.grace || c.HeartbeatLimit != tc.limit {
			t.Errorf("interval %s, timeout %s: grace %s, limit %s; want %s, %s", tc.iv, tc.timeout, c.HeartbeatGrace, c.HeartbeatLimit, tc.grace, tc.limit)
		}
	}
}

func TestCheckHeartbeatRefuses(t *testing.T) {
	for _, tc := range []struct {
		c    health.Config
		want string
	}{
		{health.Config{HeartbeatGrace: 500 * time.Millisecond}, "Health.HeartbeatGrace (500ms) must be at least Timeouts.HeartbeatInterval (1s): a runner that heartbeats on time would lose score between two heartbeats; raise Health.HeartbeatGrace to 1s or more (or leave it 0 for its default), or lower Timeouts.HeartbeatInterval"},
		{health.Config{HeartbeatLimit: time.Second}, "Health.HeartbeatLimit (1s) must be at least 2 × Timeouts.HeartbeatInterval (1s)"},
		{health.Config{HeartbeatLimit: 1999 * time.Millisecond}, "raise Health.HeartbeatLimit to 2s or more (or leave it 0 for its default), or lower Timeouts.HeartbeatInterval to 999.5ms or less"},
	} {
		err := tc.c.CheckHeartbeat(time.Second, nil)
		if !errors.Is(err, health.ErrConflictingTimeouts) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.c, err, tc.want)
		}
	}
	if err := (health.Config{HeartbeatGrace: time.Second, HeartbeatLimit: 2 * time.Second}).CheckHeartbeat(time.Second, nil); err != nil {
		t.Errorf("the edges: %v", err)
	}
	// A limit at or below the grace in force, its default included (a
	// host's limit of 1s alone came out of Validate wrapping nothing).
	for _, tc := range []struct {
		c    health.Config
		want string
	}{
		{health.Config{HeartbeatLimit: time.Second}, "conflicting timeouts: Health.HeartbeatLimit (1s) must be above Health.HeartbeatGrace (1s, its default: max(1s, Timeouts.HeartbeatInterval)): the age at which a heartbeat counts as silent comes after the age still fresh; raise Health.HeartbeatLimit above 1s (e.g. 2s), or set Health.HeartbeatGrace lower"},
		{health.Config{HeartbeatGrace: 3 * time.Second, HeartbeatLimit: 2 * time.Second}, "conflicting timeouts: Health.HeartbeatLimit (2s) must be above Health.HeartbeatGrace (3s): the age at which a heartbeat counts as silent comes after the age still fresh; raise Health.HeartbeatLimit above 3s (e.g. 6s), or set Health.HeartbeatGrace lower"},
	} {
		err := tc.c.CheckHeartbeat(500*time.Millisecond, nil)
		if !errors.Is(err, health.ErrConflictingTimeouts) || err.Error() != tc.want {
			t.Errorf("%+v:\n got %v\nwant %s", tc.c, err, tc.want)
		}
	}
}

// TestCheckHeartbeatNames: a naming function turns the Go names into the
// reader's (a node config's keys), and the hint says to leave a key out,
// not to set it 0; the rest of the text is the Go API's.
func TestCheckHeartbeatNames(t *testing.T) {
	key := func(f string) string {
		return map[string]string{"Health.HeartbeatGrace": "health.grace", "Health.HeartbeatLimit": "health.limit",
			"Timeouts.HeartbeatInterval": "timeouts.iv"}[f]
	}
	for _, tc := range []struct {
		c    health.Config
		want string
	}{
		{health.Config{HeartbeatGrace: 500 * time.Millisecond}, "conflicting timeouts: health.grace (500ms) must be at least timeouts.iv (1s): a runner that heartbeats on time would lose score between two heartbeats; raise health.grace to 1s or more (or leave it out for its default), or lower timeouts.iv"},
		{health.Config{HeartbeatLimit: 1999 * time.Millisecond}, "conflicting timeouts: health.limit (1.999s) must be at least 2 × timeouts.iv (1s): a runner that heartbeats on time would score 0 (unhealthy) after a single late heartbeat and be restarted; raise health.limit to 2s or more (or leave it out for its default), or lower timeouts.iv to 999.5ms or less"},
	} {
		err := tc.c.CheckHeartbeat(time.Second, key)
		if !errors.Is(err, health.ErrConflictingTimeouts) || err.Error() != tc.want {
			t.Errorf("%+v:\n got %v\nwant %s", tc.c, err, tc.want)
		}
	}
}

package health_test

import (
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/health"
)

func TestConfigDefaults(t *testing.T) {
	c := health.Config{}.WithDefaults(5 * time.Second)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Interval != time.Second || c.Healthy != 0.8 || c.Degraded != 0.5 || c.Weights != health.DefaultWeights ||
		c.HeartbeatLimit != 2500*time.Millisecond || c.UnhealthyChecks != 3 || c.MaxRecoveries != 3 || c.NodeShutdownShare != 0 {
		t.Errorf("defaults: %+v", c)
	}
	if got := (health.Config{}).WithDefaults(time.Second).HeartbeatLimit; got != 2*time.Second {
		t.Errorf("HeartbeatLimit with a 1s heartbeat timeout: %s, want 2s (above the grace)", got)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*health.Config)
		want string
	}{
		{"weights not summing to 1", func(c *health.Config) {
			c.Weights = health.Weights{Process: 0.5, Status: 0.2, Resources: 0.2, Errors: 0.2}
		},
			"health weights sum to 1.1 (process 0.5 + status 0.2 + resources 0.2 + errors 0.2): want 1"},
		{"negative weight", func(c *health.Config) { c.Weights = health.Weights{Process: 1.2, Status: -0.2} }, "health weight Status -0.2: want a value from 0 to 1"},
		{"thresholds out of order", func(c *health.Config) { c.Healthy, c.Degraded = 0.5, 0.8 },
			"health thresholds out of order: Degraded 0.8 must be below Healthy 0.5"},
		{"equal thresholds", func(c *health.Config) { c.Healthy, c.Degraded = 0.6, 0.6 }, "out of order"},
		{"healthy above 1", func(c *health.Config) { c.Healthy = 1.5 }, "Healthy 1.5: want a value in (0, 1]"},
		{"negative interval", func(c *health.Config) { c.Interval = -time.Second }, "health Interval -1s: want a positive duration"},
		{"limit below grace", func(c *health.Config) { c.HeartbeatLimit = 500 * time.Millisecond }, "HeartbeatLimit 500ms must be above HeartbeatGrace 1s"},
		{"share above 1", func(c *health.Config) { c.NodeShutdownShare = 2 }, "NodeShutdownShare 2: want 0 (off) or a share in (0, 1]"},
		{"negative K", func(c *health.Config) { c.UnhealthyChecks = -1 }, "UnhealthyChecks -1: want at least 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cf := health.Config{}
			c.mod(&cf)
			err := cf.WithDefaults(5 * time.Second).Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "invalid health config: ") {
				t.Errorf("error %q does not say what it is about", err)
			}
		})
	}
}

package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/httpapi"
)

// TestStatusHealthUnanswered: /status says the health monitor is "disabled"
// only when it is; a monitor that did not answer in time (here it is held
// inside its first check's OnCheck) is shown as an error, with the error's
// text, and the node's level is "unknown".
func TestStatusHealthUnanswered(t *testing.T) {
	entered := make(chan struct{}, 1) // never closed
	release := make(chan struct{})    // sole sender: the test's cleanup, once
	n := startNode(t, func(c *actors.NodeConfig) {
		c.RequestTimeout = time.Second // how long BuildStatus waits for the held monitor
		c.Health.OnCheck = func(uint64) {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
		}
	})
	t.Cleanup(func() { close(release) }) // sole sender: this cleanup; runs before the node's shutdown
	<-entered
	doc, err := httpapi.BuildStatus(context.Background(), n.Node) // no deadline: NodeConfig.RequestTimeout bounds the ask
	if err != nil {
		t.Fatal(err)
	}
	var state string
	for _, c := range doc.Tree.Children {
		if c.Name == "node/health" {
			state = c.State
		}
	}
	if state == "disabled" || doc.Node.Level != "unknown" || !strings.Contains(doc.Node.HealthError, "no answer from") {
		t.Errorf("/status with a monitor that did not answer: node/health %q, level %q, health_error %q; want not disabled, unknown, the timeout's text",
			state, doc.Node.Level, doc.Node.HealthError)
	}
}

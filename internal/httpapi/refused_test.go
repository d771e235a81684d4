package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/sirupsen/logrus/hooks/test"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/internal/httpapi"
)

// TestHostRefusalIsLogged: a request the Host guard refuses is logged by
// the server's logger, once per name, with what to do (before: the 403's
// body said it, the node's log nothing).
func TestHostRefusalIsLogged(t *testing.T) {
	n := startNode(t)
	logger, hook := test.NewNullLogger()
	s, err := httpapi.Start(n.Node, actors.HTTPConfig{Addr: "127.0.0.1:0"}, logger)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Shutdown(ctxT(t)) })
	for range 2 {
		req, err := http.NewRequest("GET", "http://"+s.Addr()+"/metrics", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "metrics.example.com"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("Host metrics.example.com: %d, want 403", resp.StatusCode)
		}
	}
	var refusals []string
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "refused") {
			refusals = append(refusals, e.Message)
		}
	}
	want := `HTTP endpoints: refused a request for Host "metrics.example.com"`
	if len(refusals) != 1 || !strings.HasPrefix(refusals[0], want) || !strings.Contains(refusals[0], "--http-allow-host NAME (HTTPConfig.AllowHosts)") {
		t.Errorf("refusal lines %q, want one that begins %q and names --http-allow-host", refusals, want)
	}
}

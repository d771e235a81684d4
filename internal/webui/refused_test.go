package webui

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/sirupsen/logrus/hooks/test"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestHostRefusalIsLogged: a request the page's Host guard refuses is
// logged once per name, with what to do (before: the 403's body said it,
// the node's log nothing).
func TestHostRefusalIsLogged(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logger, hook := test.NewNullLogger()
	s := serve(&fakeNode{}, Config{}, logger, ln)
	testutil.ShutdownAtCleanup(t, s.Shutdown)
	for range 2 {
		req, err := http.NewRequest("GET", s.URL()+"api/status", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "tree.example.com:8080"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("Host tree.example.com: %d, want 403", resp.StatusCode)
		}
	}
	var refusals []string
	for _, e := range hook.AllEntries() {
		if strings.Contains(e.Message, "refused") {
			refusals = append(refusals, e.Message)
		}
	}
	want := `web page: refused a request for Host "tree.example.com:8080"`
	if len(refusals) != 1 || !strings.HasPrefix(refusals[0], want) || !strings.Contains(refusals[0], "--ui-allow-host NAME") {
		t.Errorf("refusal lines %q, want one that begins %q and names --ui-allow-host", refusals, want)
	}
}

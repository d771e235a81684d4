package httpserve_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"

	"github.com/exo-actors/exo-actors/internal/httpserve"
)

// TestRefusalLog: the Host guard logs the first refusal of each name, at
// warning, with the name, the peer and what to do; the same name again
// (another port, capitals) is not logged; loopback names are not refusals;
// after MaxRefusedNames names one line says further names go unlogged, and
// then nothing. Before, a refusal was in the 403 response only: an
// operator whose proxy sent a name the guard refuses saw nothing in the
// node's log.
func TestRefusalLog(t *testing.T) {
	logger, hook := test.NewNullLogger()
	refusals := httpserve.NewRefusalLog(logger, "HTTP endpoints", "name it with --http-allow-host NAME")
	h := httpserve.LoopbackNamesOnly(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "the endpoints answer", "serve them elsewhere", refusals)
	get := func(host string) int {
		r := httptest.NewRequest("GET", "/metrics", nil)
		r.Host, r.RemoteAddr = host, "127.0.0.1:40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for _, host := range []string{"127.0.0.1:9464", "localhost"} {
		if code := get(host); code != 200 {
			t.Fatalf("Host %q: %d", host, code)
		}
	}
	if n := len(hook.AllEntries()); n != 0 {
		t.Fatalf("%d lines for loopback names", n)
	}
	for _, host := range []string{"metrics.example.com:9464", "metrics.example.com:80", "METRICS.example.com"} {
		if code := get(host); code != 403 {
			t.Fatalf("Host %q: %d, want 403", host, code)
		}
	}
	entries := hook.AllEntries()
	if len(entries) != 1 {
		t.Fatalf("%d lines for one name refused three times, want 1", len(entries))
	}
	e := entries[0]
	want := `HTTP endpoints: refused a request for Host "metrics.example.com:9464" (403; loopback names only, a guard against DNS rebinding): ` +
		"if the name is yours, name it with --http-allow-host NAME; later requests for this name are not logged"
	if e.Level != logrus.WarnLevel || e.Message != want || e.Data["host"] != "metrics.example.com:9464" || e.Data["remote"] != "127.0.0.1:40000" {
		t.Errorf("line: %s %q %v\nwant: warning %q", e.Level, e.Message, e.Data, want)
	}
	for i := 1; i <= httpserve.MaxRefusedNames+5; i++ {
		get(fmt.Sprintf("n%d.example", i))
	}
	entries = hook.AllEntries()
	if len(entries) != httpserve.MaxRefusedNames+1 {
		t.Fatalf("%d lines for %d names, want %d", len(entries), httpserve.MaxRefusedNames+6, httpserve.MaxRefusedNames+1)
	}
	last := entries[len(entries)-1].Message
	if !strings.Contains(last, fmt.Sprintf("refused requests for %d Host names, and now %q: requests for further names are refused without a log line", httpserve.MaxRefusedNames, fmt.Sprintf("n%d.example", httpserve.MaxRefusedNames))) {
		t.Errorf("last line %q", last)
	}
	if httpserve.NewRefusalLog(nil, "x", "y") != nil {
		t.Error("a nil logger gave a RefusalLog")
	}
}

// TestRefusalLogClipsALongHost: a Host header longer than any name (a
// request may carry 1 MiB of headers) is logged and remembered clipped.
// Before, a 64 KiB Host made a log line of 64 KiB and a host field of as
// much, and each of the 16 names remembered kept its whole header.
func TestRefusalLogClipsALongHost(t *testing.T) {
	logger, hook := test.NewNullLogger()
	refusals := httpserve.NewRefusalLog(logger, "HTTP endpoints", "name it with --http-allow-host NAME")
	h := httpserve.LoopbackNamesOnly(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}), "the endpoints answer", "serve them elsewhere", refusals)
	r := httptest.NewRequest("GET", "/metrics", nil)
	r.Host, r.RemoteAddr = strings.Repeat("a", 64<<10)+".example", "127.0.0.1:40000"
	h.ServeHTTP(httptest.NewRecorder(), r)
	entries := hook.AllEntries()
	if len(entries) != 1 {
		t.Fatalf("%d lines, want 1", len(entries))
	}
	if e := entries[0]; len(e.Message) > 1000 || len(e.Data["host"].(string)) > 400 {
		t.Errorf("line of %d bytes, host field of %d: want the name clipped", len(e.Message), len(e.Data["host"].(string)))
	}
}

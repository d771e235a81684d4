package httpserve_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/internal/httpserve"
)

// FuzzCheckHostName: CheckHostName takes any operator text (--http-allow-host,
// --ui-allow-host, HTTPConfig.AllowHosts). Every refusal is one line that
// says what to write; every name it accepts holds no scheme, port, path,
// space or wildcard, has brackets only around an IPv6 address, and is one
// the guard then answers: a request whose Host is that name, with or
// without a port, passes LoopbackNamesOnly given the name as also.
func FuzzCheckHostName(f *testing.F) {
	for _, s := range []string{"metrics.example.com", "METRICS.example.com.", "node_1", "10.0.0.7", "::1", "[::1]",
		"xn--bcher-kva.example", "", "https://m.example", "m.example:9464", "[m.example]:80", "[::1]:80", "a..b",
		"-a", "a\nb", "[10.0.0.7]", "[::1", "::1]", "[[::1]]", "é.example", strings.Repeat("a.", 130)} {
		f.Add(s)
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	f.Fuzz(func(t *testing.T, name string) {
		err := httpserve.CheckHostName(name)
		if err != nil {
			if msg := err.Error(); strings.ContainsAny(msg, "\n\r") || !strings.Contains(msg, "e.g. metrics.example.com") {
				t.Fatalf("CheckHostName(%q): %q, not one line saying what to write", name, msg)
			}
			return
		}
		if strings.ContainsAny(name, "/?#@*%, \t\n\r") || strings.Contains(name, "://") {
			t.Fatalf("CheckHostName accepted %q: a scheme, path, space or wildcard", name)
		}
		inner := strings.TrimSuffix(strings.TrimPrefix(name, "["), "]")
		bracketed := inner != name
		if strings.ContainsAny(inner, "[]") || bracketed && (len(inner)+2 != len(name) || !strings.Contains(inner, ":") || net.ParseIP(inner) == nil) {
			t.Fatalf("CheckHostName accepted %q: brackets hold an IPv6 address only, whole", name)
		}
		if _, port, err := net.SplitHostPort(name); err == nil {
			t.Fatalf("CheckHostName accepted %q: a name with a port (%q)", name, port)
		}
		// The guard answers the name, as a Host header carries it.
		host := name
		if strings.Contains(inner, ":") {
			host = "[" + inner + "]"
		}
		h := httpserve.LoopbackNamesOnly(ok, "the test answers", "nothing", nil, name)
		for _, hh := range []string{host, host + ":8080"} {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Host = hh
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusNoContent {
				t.Fatalf("CheckHostName accepted %q, but the guard refuses Host %q: %d %s", name, hh, w.Code, w.Body)
			}
		}
	})
}

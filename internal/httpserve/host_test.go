package httpserve_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/internal/httpserve"
)

// TestLoopbackNamesOnlyAnswers: the Host guard answers loopback names,
// with or without a port, a trailing dot or capitals, and the machine's own
// host name (a Prometheus target "vm:9464" on a machine named vm), and
// refuses any other name. Before, "localhost." and the machine's name were
// refused (a review).
func TestLoopbackNamesOnlyAnswers(t *testing.T) {
	self, err := os.Hostname()
	if err != nil || self == "" {
		t.Skipf("no host name here: %v", err)
	}
	h := httpserve.LoopbackNamesOnly(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}), "the endpoints answer", "serve them elsewhere", nil)
	for host, want := range map[string]int{
		"127.0.0.1:9464": 200, "localhost:9464": 200, "LOCALHOST": 200, "localhost.:9464": 200, "[::1]:9464": 200, "": 200,
		self + ":9464": 200, strings.ToUpper(self): 200, self + ".": 200,
		"evil.example:9464": 403, "localhost.evil.example": 403, self + ".evil.example": 403,
	} {
		r := httptest.NewRequest("GET", "/status", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("Host %q: %d, want %d", host, w.Code, want)
		}
	}
}

// TestCheckHostName: HTTPConfig.AllowHosts and --http-allow-host take host
// names and IP addresses as a Host header carries them, and refuse a
// scheme, a port, a path, a wildcard or an empty name with what to write.
func TestCheckHostName(t *testing.T) {
	for _, ok := range []string{"metrics.example.com", "METRICS.example.com.", "node_1", "10.0.0.7", "::1", "[::1]", "xn--bcher-kva.example"} {
		if err := httpserve.CheckHostName(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for name, says := range map[string]string{
		"":                        "empty name",
		"https://m.example":       `':' is not a host name's character`,
		"m.example:9464":          "a port is no part of the name (the name matches with any port)",
		"m.example/metrics":       `'/' is not a host name's character`,
		"*.example.com":           `'*' is not a host name's character`,
		"m..example":              "an empty label",
		"-bad.example":            "a label starts or ends with '-'",
		"bad-.example":            "a label starts or ends with '-'",
		"[m.example]:80":          `'[' is not a host name's character`,
		"*.example.com:443":       `'*' is not a host name's character`,
		"m.example:abc":           `':' is not a host name's character`,
		strings.Repeat("a", 64):   "longer than 63 bytes",
		strings.Repeat("a.", 130): "longer than a host name may be (253)",
	} {
		err := httpserve.CheckHostName(name)
		if err == nil || !strings.Contains(err.Error(), says) || !strings.Contains(err.Error(), "e.g. metrics.example.com") {
			t.Errorf("%.40q: %v; want an error saying %q and what to write", name, err, says)
		}
	}
}

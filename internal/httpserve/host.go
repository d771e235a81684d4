package httpserve

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
)

// LoopbackHost reports whether host (without its port or brackets) is
// "localhost", a loopback IP (127.0.0.0/8, ::1), or empty: a listen
// address's empty host means 127.0.0.1, and a request without a Host
// header (HTTP/1.0) came from no browser.
func LoopbackHost(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// LoopbackNamesOnly returns h behind a check of each request's Host
// header, for a server that listens on loopback: a request whose Host is
// not a loopback name (LoopbackHost, with any port) is answered 403, with
// a JSON {"error": …} that says why and what to do. It guards against DNS
// rebinding: a page elsewhere whose name its DNS turns into 127.0.0.1
// would otherwise read the server through a browser of this host, and
// the browser sends that name as Host.
//
// server says who refuses ("the endpoints answer", "the page answers");
// otherwise says how to serve other names ("serve them … with
// --http-allow-remote").
//
// The machine's own host name (os.Hostname, as `curl http://$(hostname):PORT`
// or a Prometheus target of that name sends it) is answered too: a page
// elsewhere cannot make a browser send it, as its own name is not that.
func LoopbackNamesOnly(h http.Handler, server, otherwise string) http.Handler {
	self, _ := os.Hostname() // once: a syscall per request is not needed
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host := requestHost(r.Host); LoopbackHost(host) || self != "" && strings.EqualFold(host, self) {
			h.ServeHTTP(w, r)
			return
		}
		local := "127.0.0.1:PORT"
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			local = a.String()
		}
		msg := fmt.Sprintf("host %q refused: %s to loopback names only (127.0.0.1, [::1], localhost, this machine's own name), a guard against DNS rebinding; "+
			"ask for http://%s%s (a proxy in front: send the address it forwards to as Host), or %s",
			r.Host, server, local, r.URL.EscapedPath(), otherwise)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
	})
}

// requestHost is the host of a Host header, without its port, the
// brackets of an IPv6 address, or the trailing dot of a fully qualified
// name ("localhost.").
func requestHost(hostport string) string {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return strings.TrimSuffix(strings.Trim(host, "[]"), ".")
}

package httpserve

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
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
// So are the names in also (CheckHostName's form; compared without case,
// port or trailing dot): the names a reverse proxy on this machine passes
// on as Host (Caddy passes the client's by default).
//
// refusals, when not nil, logs each refused name once (RefusalLog).
func LoopbackNamesOnly(h http.Handler, server, otherwise string, refusals *RefusalLog, also ...string) http.Handler {
	self, _ := os.Hostname() // once: a syscall per request is not needed
	allowed := func(host string) bool {
		for _, a := range also {
			if strings.EqualFold(host, requestHost(a)) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host := requestHost(r.Host); LoopbackHost(host) || self != "" && strings.EqualFold(host, self) || allowed(host) {
			h.ServeHTTP(w, r)
			return
		}
		refusals.refused(r.Host, r.RemoteAddr)
		local := "127.0.0.1:PORT"
		if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
			local = a.String()
		}
		names := "loopback names only (127.0.0.1, [::1], localhost, this machine's own name)"
		if len(also) > 0 {
			names = fmt.Sprintf("loopback names (127.0.0.1, [::1], localhost, this machine's own name) and %s only", strings.Join(also, ", "))
		}
		msg := fmt.Sprintf("host %q refused: %s to %s, a guard against DNS rebinding; "+
			"ask for http://%s%s (a proxy in front: send the address it forwards to as Host), or %s",
			r.Host, server, names, local, r.URL.EscapedPath(), otherwise)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
	})
}

// CheckHostName checks a name for LoopbackNamesOnly's also: a host name or
// an IP address as a Host header carries it, without scheme, port, path or
// wildcard (e.g. "metrics.example.com").
func CheckHostName(name string) error {
	const want = "want a host name as a Host header carries it, without scheme, port or path (e.g. metrics.example.com)"
	if name == "" {
		return fmt.Errorf("empty name: %s", want)
	}
	// An IP address, an IPv6 one bare or in one pair of brackets. Trimming
	// every bracket took "[::1", "::1]", "[[::1]]" and "[10.0.0.7]"
	// (FuzzCheckHostName); they now meet the character check below ('[').
	if net.ParseIP(name) != nil {
		return nil
	}
	if inner, ok := strings.CutPrefix(name, "["); ok {
		if inner, ok = strings.CutSuffix(inner, "]"); ok && strings.Contains(inner, ":") && net.ParseIP(inner) != nil {
			return nil
		}
	}
	if len(name) > 253 {
		return fmt.Errorf("%q: %d bytes, longer than a host name may be (253): %s", name[:40]+"…", len(name), want)
	}
	for _, label := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("%q: an empty label or one longer than 63 bytes: %s", name, want)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				// A name and a port: said so, when the name alone is one.
				if host, port, err := net.SplitHostPort(name); err == nil && allDigits(port) && CheckHostName(host) == nil &&
					(!strings.HasPrefix(name, "[") || net.ParseIP(host) != nil) { // brackets hold an IPv6 address only
					return fmt.Errorf("%q: a port is no part of the name (the name matches with any port): %s", name, want)
				}
				return fmt.Errorf("%q: %q is not a host name's character: %s", name, c, want)
			}
		}
		// RFC 1123: no label starts or ends with a hyphen. A flag taken as
		// the value (`--http-allow-host $EMPTY --ui-actions`) is refused
		// here rather than swallowed (a review).
		if strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return fmt.Errorf("%q: a label starts or ends with '-': %s", name, want)
		}
	}
	return nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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

// NotHostPort is the error for a listen address that net.SplitHostPort
// refused (err): what names it ("HTTP address"), example is one that
// works. An address given as a URL (`http://127.0.0.1:9464`, as `status
// --addr` takes it) is told the scheme is no part of it and which
// host:port it meant; before, it read Go's "too many colons in address"
// (an SRE's trial).
//
// A URL without a port (`http://127.0.0.1`) splits without an error, into
// host "http" and port "//127.0.0.1": SplitListen sends it here too.
func NotHostPort(what, addr, example string, err error) error {
	if u, perr := url.Parse(addr); perr == nil && u.Scheme != "" && u.Host != "" {
		here := u.Host
		if u.Port() == "" {
			here += ", and a port"
		}
		return fmt.Errorf("%s %q: want host:port, without a scheme or path, e.g. %s (here: %s)", what, addr, example, here)
	}
	if err == nil {
		return fmt.Errorf("%s %q: want host:port, without a scheme or path, e.g. %s", what, addr, example)
	}
	// Go's error repeats addr raw ("address a\nb: missing port in
	// address"): quoted above already, its reason alone, so a value holding
	// a newline does not split the refusal in two lines.
	var ae *net.AddrError
	if errors.As(err, &ae) {
		err = errors.New(ae.Err)
	}
	return fmt.Errorf("%s %q: want host:port, e.g. %s (%v)", what, addr, example, err)
}

// SplitListen is net.SplitHostPort for a listen address, with NotHostPort's
// error; an address with a scheme is refused also when it splits (before,
// `--http http://127.0.0.1` was told `port "//127.0.0.1": want a number`).
func SplitListen(what, addr, example string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil || strings.Contains(addr, "://") {
		return "", "", NotHostPort(what, addr, example, err)
	}
	return host, port, nil
}

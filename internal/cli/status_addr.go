package cli

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/exo-actors/exo-actors/internal/httpapi"
)

// statusAddr reads `status --addr`: host:port, or the http:// URL the demo
// and the node print (its scheme stripped; a path, query or user is
// refused, with or without the scheme: status asks for /status itself). It
// returns host:port, with 127.0.0.1 when the host is empty. Port 0, which
// means "any free port" to a node's --http, names no node here.
func statusAddr(raw string) (string, error) {
	hostport := raw
	if scheme, _, ok := strings.Cut(raw, "://"); ok {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			return "", usageErrorf("--addr %q: not a URL (%v): want host:port or http://host:port, e.g. 127.0.0.1:9464", raw, err)
		case !strings.EqualFold(scheme, "http"):
			return "", usageErrorf("--addr %q: scheme %q: the endpoints speak plain HTTP; want host:port or http://host:port, e.g. 127.0.0.1:9464", raw, scheme)
		case u.Host == "":
			// Else ListenAddr named the empty host part: `HTTP address "":
			// want host:port` for --addr http:// (FuzzStatusAddr).
			return "", usageErrorf("--addr %q: no host:port after the scheme: want host:port or http://host:port, e.g. 127.0.0.1:9464", raw)
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			return "", usageErrorf("--addr %q: want the node's address without a path, e.g. http://%s (status asks for /status itself)", raw, u.Host)
		}
		hostport = u.Host
	} else if i := strings.IndexAny(raw, "/?#"); i >= 0 {
		// host:port/status: without the scheme the path ended up in the
		// port ("port \"37831/status\": want a number").
		// The example is raw's head, quoted when it holds a newline (or
		// anything %q escapes), so the error stays one line (FuzzStatusAddr).
		example := raw[:i]
		if q := strconv.Quote(example); q != `"`+example+`"` {
			example = q
		}
		return "", usageErrorf("--addr %q: want the node's address without a path, e.g. %s (status asks for /status itself)", raw, example)
	}
	if _, port, err := net.SplitHostPort(hostport); err == nil {
		// Checked here, not by ListenAddr, whose hint is a listener's
		// ("0: any free port"): port 0 names no node to ask.
		n, err := strconv.Atoi(port)
		switch {
		case err != nil || n < 0 || n > 65535:
			return "", usageErrorf("--addr %q: port %q: want the node's HTTP port, a number from 1 to 65535", raw, port)
		case n == 0:
			return "", usageErrorf("--addr %q: port 0 names no node (it means \"any free port\" to exo-actors node --http); give the port the node printed (\"HTTP endpoints on http://HOST:PORT\")", raw)
		}
	}
	addr, err := httpapi.ListenAddr(hostport)
	if err != nil {
		return "", &UsageError{Err: fmt.Errorf("--addr: %w", err)}
	}
	return addr, nil
}

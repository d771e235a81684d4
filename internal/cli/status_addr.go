package cli

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/exo-actors/exo-actors/internal/httpapi"
)

// statusAddr reads `status --addr`: host:port, or the http:// URL the demo
// and the node print (its scheme stripped; a path, query or user is
// refused: status asks for /status itself). It returns host:port, with
// 127.0.0.1 when the host is empty.
func statusAddr(raw string) (string, error) {
	hostport := raw
	if scheme, _, ok := strings.Cut(raw, "://"); ok {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			return "", usageErrorf("--addr %q: not a URL (%v): want host:port or http://host:port, e.g. 127.0.0.1:9464", raw, err)
		case !strings.EqualFold(scheme, "http"):
			return "", usageErrorf("--addr %q: scheme %q: the endpoints speak plain HTTP; want host:port or http://host:port, e.g. 127.0.0.1:9464", raw, scheme)
		case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
			return "", usageErrorf("--addr %q: want the node's address without a path, e.g. http://%s (status asks for /status itself)", raw, u.Host)
		}
		hostport = u.Host
	}
	addr, err := httpapi.ListenAddr(hostport)
	if err != nil {
		return "", &UsageError{Err: fmt.Errorf("--addr: %w", err)}
	}
	return addr, nil
}

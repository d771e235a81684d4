package httpserve

import (
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
)

// MaxRefusedNames bounds how many Host names a RefusalLog remembers (and
// so logs): a page elsewhere that rebinds many names, or a scanner, costs
// at most this many lines and entries, then one line that says later names
// are not logged.
const MaxRefusedNames = 16

// maxHostShown bounds the bytes of a Host header a RefusalLog keeps and
// logs: a DNS name and a port fit.
const maxHostShown = 300

// RefusalLog logs LoopbackNamesOnly's refusals for the operator: the first
// refusal of each Host name, at warning, with the name, the peer and what
// to do; later requests with that name are not logged (a scrape every 15 s
// would fill the log). Before, a refusal was said in the 403 response
// only: an operator whose proxy or Prometheus sent a name the guard
// refuses saw nothing in the node's log. A nil *RefusalLog logs nothing.
// Safe for concurrent use.
type RefusalLog struct {
	log        *logrus.Logger
	what, hint string

	mu   sync.Mutex
	seen map[string]struct{} // names without port, lower case; at most MaxRefusedNames
	full bool                // the "not logged" line was said
}

// NewRefusalLog returns a RefusalLog that logs to log; what names the
// server ("HTTP endpoints", "web page"), hint says what to do for a name
// that is the operator's own (e.g. "name it with --http-allow-host"). A
// nil log gives a nil *RefusalLog.
func NewRefusalLog(log *logrus.Logger, what, hint string) *RefusalLog {
	if log == nil {
		return nil
	}
	return &RefusalLog{log: log, what: what, hint: hint, seen: make(map[string]struct{})}
}

// refused notes a refusal of host (the Host header as sent) from remote.
func (l *RefusalLog) refused(host, remote string) {
	if l == nil {
		return
	}
	if len(host) > maxHostShown {
		// A name is at most 253 bytes; a Host header may carry up to
		// the server's 1 MiB of headers, which 17 lines and 16 map keys
		// kept (16 MiB held for the server's life).
		host = host[:maxHostShown] + "…"
	}
	key := strings.ToLower(requestHost(host)) // one name, whatever its port or case
	l.mu.Lock()
	_, known := l.seen[key]
	first, overflow := false, false
	switch {
	case known:
	case len(l.seen) < MaxRefusedNames:
		l.seen[key] = struct{}{}
		first = true
	case !l.full:
		l.full = true
		overflow = true
	}
	l.mu.Unlock()
	switch {
	case first:
		l.log.WithFields(logrus.Fields{"host": host, "remote": remote}).Warnf(
			"%s: refused a request for Host %q (403; loopback names only, a guard against DNS rebinding): if the name is yours, %s; later requests for this name are not logged",
			l.what, host, l.hint)
	case overflow:
		l.log.WithFields(logrus.Fields{"host": host, "remote": remote}).Warnf(
			"%s: refused requests for %d Host names, and now %q: requests for further names are refused without a log line",
			l.what, MaxRefusedNames, host)
	}
}

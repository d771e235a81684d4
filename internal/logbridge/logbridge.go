package logbridge

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sirupsen/logrus"
)

// Handler is a slog.Handler that writes into a logrus logger.
type Handler struct {
	logger *logrus.Logger
	fields logrus.Fields // attributes added with WithAttrs, keys already prefixed
	prefix string        // open groups joined with ".", ending in "." when non-empty
	th     *throttle     // repeated identical lines (throttle.go); nil: none
}

// New returns a Handler writing to logger, with the default throttle of
// repeated identical lines (Options). A nil logger is a programming error.
func New(logger *logrus.Logger) *Handler { return NewWithOptions(logger, Options{}) }

// NewWithOptions returns a Handler writing to logger, its throttle of
// repeated identical lines set by o.
func NewWithOptions(logger *logrus.Logger, o Options) *Handler {
	if logger == nil {
		panic("logbridge.New: nil logrus logger")
	}
	return &Handler{logger: logger, fields: logrus.Fields{}, th: newThrottle(o)}
}

// NewSlog returns a *slog.Logger whose records go to logger (New).
func NewSlog(logger *logrus.Logger) *slog.Logger { return slog.New(New(logger)) }

// LogrusLevel maps a slog level to the logrus level that reports it.
func LogrusLevel(l slog.Level) logrus.Level {
	switch {
	case l >= slog.LevelError:
		return logrus.ErrorLevel
	case l >= slog.LevelWarn:
		return logrus.WarnLevel
	case l >= slog.LevelInfo:
		return logrus.InfoLevel
	case l >= slog.LevelDebug:
		return logrus.DebugLevel
	default:
		return logrus.TraceLevel
	}
}

// milder lowers protoactor's level for lines that are routine on a node
// whose clients come and go: protoactor logs every peer connection that
// goes away at error level, though a client that exits after its goodbye
// is the normal case. What it means is logged by the gateway ("session
// ended: … lost=…") and the cluster ("member lost") at their own levels,
// so the line stays visible (warn) without paging whoever alerts on
// errors.
var milder = map[string]logrus.Level{
	"EndpointWriter lost connection": logrus.WarnLevel,
}

// milderIfRefused lowers protoactor's lines about redialling a peer to warn
// when the dial was refused, or reset outside a TLS handshake: after a
// client process exits, a node that still had something to send it
// redials its endpoint and logs "failed to connect … connection refused"
// (and "failed to create receive stream") at error, though the peer is
// simply gone; a client killed while the redial reached it gives
// "connection reset by peer" (a soak of clients killed at random logged
// 856 such errors). Any other cause (a TLS failure such as a client
// certificate without the IP SAN, also one that ends in a reset) stays an
// error: it is the only place that cause is told.
var milderIfRefused = map[string]logrus.Level{
	"EndpointWriter failed to connect":                  logrus.WarnLevel,
	"EndpointWriter failed to create receive stream":    logrus.WarnLevel,
	"EndpointWriter failed to receive connect response": logrus.WarnLevel,
}

// refused reports whether a line's error field says the connection was
// refused, or reset by its peer outside a TLS handshake.
func refused(fields logrus.Fields) bool {
	s := fmt.Sprint(fields["error"])
	if strings.Contains(s, "connection refused") {
		return true
	}
	tls := strings.Contains(s, "handshake") || strings.Contains(s, "tls") || strings.Contains(s, "x509")
	return strings.Contains(s, "connection reset by peer") && !tls
}

// Enabled reports whether the logrus logger would print a record of level l.
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	return h.logger.IsLevelEnabled(LogrusLevel(l))
}

// Handle writes one record as one logrus entry.
func (h *Handler) Handle(_ context.Context, r slog.Record) error {
	fields := make(logrus.Fields, len(h.fields)+r.NumAttrs())
	for k, v := range h.fields {
		fields[k] = v
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(fields, h.prefix, a)
		return true
	})
	l := line{level: LogrusLevel(r.Level), msg: r.Message, fields: fields, at: r.Time}
	if q, ok := milder[r.Message]; ok && q > l.level {
		l.level = q
	}
	if q, ok := milderIfRefused[r.Message]; ok && q > l.level && refused(fields) {
		l.level = q
	}
	if h.th == nil {
		h.write(l)
		return nil
	}
	for _, out := range h.th.admit(l) {
		h.write(out)
	}
	return nil
}

func (h *Handler) write(l line) {
	entry := logrus.NewEntry(h.logger).WithFields(l.fields)
	if !l.at.IsZero() {
		entry = entry.WithTime(l.at)
	}
	entry.Log(l.level, l.msg)
}

// WithAttrs returns a Handler that adds attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	n := h.clone()
	for _, a := range attrs {
		addAttr(n.fields, n.prefix, a)
	}
	return n
}

// WithGroup returns a Handler that prefixes later attribute keys with name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := h.clone()
	n.prefix = h.prefix + name + "."
	return n
}

func (h *Handler) clone() *Handler {
	f := make(logrus.Fields, len(h.fields))
	for k, v := range h.fields {
		f[k] = v
	}
	return &Handler{logger: h.logger, fields: f, prefix: h.prefix, th: h.th}
}

func addAttr(fields logrus.Fields, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p = prefix + a.Key + "."
		}
		for _, ga := range v.Group() {
			addAttr(fields, p, ga)
		}
		return
	}
	key := strings.TrimSuffix(prefix+a.Key, ".")
	switch v.Kind() {
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			fields[key] = err.Error()
			return
		}
		fields[key] = v.Any()
	default:
		fields[key] = v.Any()
	}
}

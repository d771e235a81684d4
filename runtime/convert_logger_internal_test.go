package runtime

import (
	"testing"

	"github.com/sirupsen/logrus"
)

// TestToLogrusTypedNil: a nil *logrus.Logger or *logrus.Entry in a
// FieldLogger field (a host's logger field never set) is the default, as
// an unset field is: nil, no panic. Before, a nil *logrus.Entry panicked
// in toLogrus, and a nil *logrus.Logger in ServeConfig.Logger replaced the
// System's logger with a new stderr one (or panicked in Serve's warning off
// loopback) (a review).
func TestToLogrusTypedNil(t *testing.T) {
	for name, l := range map[string]logrus.FieldLogger{
		"nil":         nil,
		"nil *Logger": (*logrus.Logger)(nil),
		"nil *Entry":  (*logrus.Entry)(nil),
	} {
		if got := toLogrus(l); got != nil {
			t.Errorf("%s: toLogrus = %p, want nil (the default)", name, got)
		}
	}
	base := logrus.New()
	if toLogrus(base) != base || toLogrus(base.WithField("a", 1)) == nil {
		t.Errorf("a logger or an entry that is set must come through")
	}
}

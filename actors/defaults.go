package actors

import (
	"time"

	"github.com/exo-actors/exo-actors/actors/streams"
	"github.com/exo-actors/exo-actors/internal/frame"
)

// Defaults of NodeConfig fields that are not structs of their own.
const (
	// DefaultDeadLetterThrottle is NodeConfig.DeadLetterThrottle's default.
	DefaultDeadLetterThrottle = time.Second
	// DefaultRequestTimeout is NodeConfig.RequestTimeout's default.
	DefaultRequestTimeout = time.Minute
	// DefaultStreamBuffer is NodeConfig.StreamBuffer's default.
	DefaultStreamBuffer = streams.DefaultBuffer
	// DefaultMaxFrameSize is NodeConfig.MaxFrameSize's default.
	DefaultMaxFrameSize = frame.DefaultMaxSize
)

// WithDefaults returns t with every zero field set to its default, as the
// node applies them.
func (t RunnerTimeouts) WithDefaults() RunnerTimeouts { return t.withDefaults() }

// WithDefaults returns l with every zero field set to its default, as the
// node applies them.
func (l TaskLimits) WithDefaults() TaskLimits { return l.withDefaults() }

// WithDefaults returns d with every zero field set to its default, as the
// node applies them.
func (d ShutdownDeadlines) WithDefaults() ShutdownDeadlines { return d.withDefaults() }

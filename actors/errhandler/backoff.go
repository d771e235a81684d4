package errhandler

import (
	"math/rand/v2"
	"time"
)

// NoDelay, as BackoffConfig.Base, makes every backoff delay zero: restarts
// happen at once. Benchmarks use it. (A zero Base selects the default.)
const NoDelay time.Duration = -1

// Backoff defaults, applied to zero fields.
const (
	defaultBase         = 500 * time.Millisecond
	defaultMax          = 30 * time.Second
	defaultStablePeriod = 60 * time.Second
)

// BackoffConfig configures the delay before each restart of a runner.
type BackoffConfig struct {
	// Base is the first nominal delay; each next one doubles, up to Max.
	// Zero means 500ms; NoDelay means no delay at all.
	Base time.Duration
	// Max caps the nominal delay. Zero means 30s; a Max below Base is raised
	// to Base.
	Max time.Duration
	// StablePeriod is how long a runner must stay Ready before its backoff
	// and attempt count start over (used by Handler). Zero means 60s.
	StablePeriod time.Duration
}

// withDefaults returns c with zero fields replaced by the defaults.
func (c BackoffConfig) withDefaults() BackoffConfig {
	switch {
	case c.Base == 0:
		c.Base = defaultBase
	case c.Base < 0:
		c.Base = 0
	}
	if c.Max == 0 {
		c.Max = defaultMax
	}
	c.Max = max(c.Max, c.Base)
	if c.StablePeriod <= 0 {
		c.StablePeriod = defaultStablePeriod
	}
	return c
}

// Backoff is an exponential backoff with a cap and equal jitter: the n-th
// delay (from 0) has the nominal value d = min(Max, Base·2ⁿ) and is drawn
// uniformly from [d/2, d]. While the nominal value doubles, each delay is
// therefore at least the one before; once capped, delays stay within
// [Max/2, Max]. A Backoff is not safe for concurrent use; the Handler
// keeps one per runner under its own lock.
type Backoff struct {
	base, max time.Duration
	rnd       *rand.Rand
	nominal   time.Duration // nominal value of the next delay
	next      time.Duration // the next delay, once drawn
	drawn     bool          // next holds the drawn delay for nominal
}

// NewBackoff returns a Backoff for cfg (zero fields take the defaults of
// BackoffConfig). Jitter comes from src; a nil src means a randomly seeded
// one. Pass a seeded source, e.g. rand.NewPCG(1, 2), for a repeatable
// sequence.
func NewBackoff(cfg BackoffConfig, src rand.Source) *Backoff {
	if src == nil {
		src = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	return newBackoff(cfg.withDefaults(), rand.New(src))
}

// newBackoff takes a config with defaults applied and a shared rand.
func newBackoff(cfg BackoffConfig, rnd *rand.Rand) *Backoff {
	return &Backoff{base: cfg.Base, max: cfg.Max, rnd: rnd, nominal: cfg.Base}
}

// Peek returns the delay the next call to Next will return, without
// advancing.
func (b *Backoff) Peek() time.Duration {
	if !b.drawn {
		b.next = b.nominal
		if half := b.nominal / 2; half > 0 {
			b.next = b.nominal - half + time.Duration(b.rnd.Int64N(int64(half)+1))
		}
		b.drawn = true
	}
	return b.next
}

// Next returns the next delay and moves on to the one after.
func (b *Backoff) Next() time.Duration {
	d := b.Peek()
	b.drawn = false
	if b.nominal < b.max {
		if b.nominal > b.max/2 {
			b.nominal = b.max
		} else {
			b.nominal *= 2
		}
	}
	return d
}

// Reset starts the sequence over from Base.
func (b *Backoff) Reset() {
	b.nominal = b.base
	b.drawn = false
}

package errhandler_test

import (
	"math/rand/v2"
	"testing"
	"time"

	eh "github.com/exo-actors/exo-actors/actors/errhandler"
)

// inJitter reports whether d lies within [nominal/2, nominal].
func inJitter(d, nominal time.Duration) bool { return d >= nominal/2 && d <= nominal }

func TestBackoffGrowsWithinJitterAndCaps(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 42} {
		const base, maxDelay = 100 * time.Millisecond, 6400 * time.Millisecond // Max = Base·2⁶
		b := eh.NewBackoff(eh.BackoffConfig{Base: base, Max: maxDelay}, rand.NewPCG(seed, seed))
		var prev time.Duration
		for n := range 12 {
			nominal := min(maxDelay, base<<n)
			peek := b.Peek()
			if again := b.Peek(); again != peek {
				t.Fatalf("seed %d: Peek not stable: %v then %v", seed, peek, again)
			}
			d := b.Next()
			if d != peek {
				t.Fatalf("seed %d, delay %d: Next = %v, Peek said %v", seed, n, d, peek)
			}
			if !inJitter(d, nominal) {
				t.Fatalf("seed %d, delay %d: %v outside [%v, %v]", seed, n, d, nominal/2, nominal)
			}
			if d > maxDelay {
				t.Fatalf("seed %d: delay %v above the cap %v", seed, d, maxDelay)
			}
			if base<<n <= maxDelay && d < prev { // still doubling
				t.Fatalf("seed %d, delay %d: %v shorter than the previous %v", seed, n, d, prev)
			}
			prev = d
		}
	}
}

func TestBackoffCapNotAPowerOfTwo(t *testing.T) {
	b := eh.NewBackoff(eh.BackoffConfig{Base: 300 * time.Millisecond, Max: time.Second}, rand.NewPCG(1, 2))
	for n, nominal := range []time.Duration{300 * time.Millisecond, 600 * time.Millisecond, time.Second, time.Second, time.Second} {
		if d := b.Next(); !inJitter(d, nominal) {
			t.Fatalf("delay %d = %v, want within [%v, %v]", n, d, nominal/2, nominal)
		}
	}
}

func TestBackoffReset(t *testing.T) {
	b := eh.NewBackoff(eh.BackoffConfig{Base: time.Second, Max: time.Minute}, rand.NewPCG(1, 2))
	for range 5 {
		b.Next()
	}
	b.Peek() // a drawn delay is discarded by Reset
	b.Reset()
	if d := b.Peek(); !inJitter(d, time.Second) {
		t.Fatalf("after Reset, Peek = %v, want within [500ms, 1s]", d)
	}
	if d := b.Next(); !inJitter(d, time.Second) {
		t.Fatalf("after Reset, Next = %v, want within [500ms, 1s]", d)
	}
}

func TestBackoffDefaultsAndEdgeConfigs(t *testing.T) {
	src := func() rand.Source { return rand.NewPCG(7, 7) }

	b := eh.NewBackoff(eh.BackoffConfig{}, src())
	if d := b.Next(); !inJitter(d, 500*time.Millisecond) {
		t.Errorf("default first delay %v, want within [250ms, 500ms]", d)
	}
	for range 20 {
		if d := b.Next(); d > 30*time.Second {
			t.Fatalf("default cap exceeded: %v", d)
		}
	}

	b = eh.NewBackoff(eh.BackoffConfig{Base: eh.NoDelay}, src())
	for n := range 5 {
		if d := b.Next(); d != 0 {
			t.Fatalf("NoDelay: delay %d = %v, want 0", n, d)
		}
	}

	b = eh.NewBackoff(eh.BackoffConfig{Base: 2 * time.Second, Max: time.Second}, src())
	for range 3 {
		if d := b.Next(); !inJitter(d, 2*time.Second) {
			t.Fatalf("Max below Base: delay %v, want within [1s, 2s]", d)
		}
	}
}

func TestBackoffDeterministicWithSeed(t *testing.T) {
	a := eh.NewBackoff(eh.BackoffConfig{Base: time.Second}, rand.NewPCG(9, 9))
	b := eh.NewBackoff(eh.BackoffConfig{Base: time.Second}, rand.NewPCG(9, 9))
	distinct := map[time.Duration]bool{}
	for n := range 10 {
		da, db := a.Next(), b.Next()
		if da != db {
			t.Fatalf("delay %d: %v and %v from the same seed", n, da, db)
		}
		a.Reset()
		b.Reset()
		distinct[da] = true
	}
	if len(distinct) < 2 {
		t.Fatalf("10 first delays all equal (%v): no jitter", distinct)
	}
}

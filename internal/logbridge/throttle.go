package logbridge

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
)

// Defaults of the repeat throttle (Options).
const (
	// DefaultRepeatInterval: an identical line is printed at most once per
	// this interval.
	DefaultRepeatInterval = 10 * time.Second
	// DefaultMaxRepeatKeys bounds the distinct lines the throttle tracks.
	DefaultMaxRepeatKeys = 256
)

// SuppressedField is the field of a printed line that counts the identical
// lines dropped since the previous one was printed.
const SuppressedField = "suppressed"

// Options tune the Handler's throttle of repeated identical lines.
//
// protoactor repeats some lines many times a second: its automanaged
// cluster provider logs "Bad connection to the node health status" at
// error, five times a second for every peer that is down. The Handler
// prints a line of a given key — its level, message and every field
// (values formatted) — at most once per RepeatInterval; the identical
// lines in between are dropped and counted, and the next printed line of
// that key carries the count in the field "suppressed". A key that goes
// quiet for a whole interval while it has dropped lines is summed up by
// its last dropped line, printed with the count of the others, at the next
// line the Handler handles (of any key). Counts still pending when the
// process exits are not printed.
//
// Memory is bounded: at most MaxKeys keys are tracked (each holds its last
// dropped line). A new key when the table is full evicts the key seen
// least recently, after summing it up as above.
type Options struct {
	RepeatInterval time.Duration    // 0: DefaultRepeatInterval; negative: no throttle
	MaxKeys        int              // 0: DefaultMaxRepeatKeys
	Now            func() time.Time // the clock; nil: time.Now (tests inject a fake)
}

// throttle is the repeat throttle's state, shared by a Handler and every
// Handler derived from it (WithAttrs, WithGroup).
type throttle struct {
	interval time.Duration
	maxKeys  int
	now      func() time.Time

	mu        sync.Mutex
	keys      map[string]*repeat
	lastSweep time.Time
}

// repeat is one key's state.
type repeat struct {
	printed  time.Time // when a line of this key was last printed
	seen     time.Time // when a line of this key last came
	dropped  int       // lines dropped since printed
	lastDrop line      // the last dropped line, to sum them up
}

// line is one record as it goes to logrus.
type line struct {
	level  logrus.Level
	msg    string
	fields logrus.Fields
	at     time.Time
}

func newThrottle(o Options) *throttle {
	if o.RepeatInterval < 0 {
		return nil
	}
	t := &throttle{interval: o.RepeatInterval, maxKeys: o.MaxKeys, now: o.Now, keys: map[string]*repeat{}}
	if t.interval == 0 {
		t.interval = DefaultRepeatInterval
	}
	if t.maxKeys <= 0 {
		t.maxKeys = DefaultMaxRepeatKeys
	}
	if t.now == nil {
		t.now = time.Now
	}
	return t
}

// admit decides about l: print it (with the count of the lines of its key
// dropped before it set in its fields) or drop it. It returns the lines to
// print, summaries of quiet or evicted keys first.
func (t *throttle) admit(l line) []line {
	key := lineKey(l)
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []line
	if now.Sub(t.lastSweep) >= t.interval {
		t.lastSweep = now
		for k, r := range t.keys {
			if k != key && now.Sub(r.seen) >= t.interval {
				out = appendSummary(out, r)
				delete(t.keys, k)
			}
		}
	}
	r := t.keys[key]
	if r != nil && now.Sub(r.printed) < t.interval {
		r.seen, r.lastDrop = now, l
		r.dropped++
		return out
	}
	if r == nil {
		if len(t.keys) >= t.maxKeys {
			out = t.evictOldest(out)
		}
		r = &repeat{}
		t.keys[key] = r
	}
	if r.dropped > 0 {
		l.fields[SuppressedField] = r.dropped
	}
	r.printed, r.seen, r.dropped, r.lastDrop = now, now, 0, line{}
	return append(out, l)
}

// evictOldest removes the key seen least recently, summing it up.
func (t *throttle) evictOldest(out []line) []line {
	var oldest string
	var at time.Time
	for k, r := range t.keys {
		if oldest == "" || r.seen.Before(at) {
			oldest, at = k, r.seen
		}
	}
	if r := t.keys[oldest]; r != nil {
		out = appendSummary(out, r)
		delete(t.keys, oldest)
	}
	return out
}

// appendSummary prints a key's last dropped line with the count of the
// others dropped before it, if it dropped any.
func appendSummary(out []line, r *repeat) []line {
	if r.dropped == 0 {
		return out
	}
	l := r.lastDrop
	if r.dropped > 1 {
		l.fields[SuppressedField] = r.dropped - 1
	}
	return append(out, l)
}

// lineKey is a line's identity: level, message and fields, sorted.
func lineKey(l line) string {
	ks := make([]string, 0, len(l.fields))
	for k := range l.fields {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	fmt.Fprintf(&b, "%d\x00%s", l.level, l.msg)
	for _, k := range ks {
		fmt.Fprintf(&b, "\x00%s=%v", k, l.fields[k])
	}
	return b.String()
}

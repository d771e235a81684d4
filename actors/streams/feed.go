package streams

import (
	"sync"
)

// Feed is the producing side of a Subscription whose stream lives
// elsewhere: a remote node's stream, read through a client (package
// runtime). The Subscription behaves like a local one — events in order,
// Gap events where the far side dropped, an error wrapping ErrEndOfStream
// last — and its credit goes back through the grant callback instead of
// Stream.Grant. The producer must deliver no more events (Gaps not
// counted) than the credit granted: window at first, then what grant adds;
// so the subscription's inbox stays bounded by its window.
type Feed struct {
	sub *localSub
}

// feedHooks are the callbacks of a fed subscription.
type feedHooks struct {
	topic string
	// onGrant and onClose must not block; they are called from the
	// reader's goroutine (Next, Close). onClose is called once.
	onGrant func(n int)
	onClose func()
	once    sync.Once
}

func (h *feedHooks) grant(n int) { h.onGrant(n) }

func (h *feedHooks) close(sub *localSub) {
	h.once.Do(h.onClose)
	sub.end(endReason(h.topic, "ended for this subscriber: the subscription was closed"))
}

// NewFeed returns a Subscription fed by the returned Feed. id is its
// subscriber ID on the far side, window its credit window; grant is
// called (never blocking, from the reader's goroutine) with credit for
// events Next returned, and leave once when the reader calls Close.
func NewFeed(topic string, id uint64, window int, grant func(n int), leave func()) (*Subscription, *Feed) {
	if window <= 0 {
		window = DefaultWindow
	}
	r := &localSub{id: id, window: window, bell: make(chan struct{}, 1),
		feed: &feedHooks{topic: topic, onGrant: grant, onClose: leave}}
	return &Subscription{r: r}, &Feed{sub: r}
}

// Deliver hands events over to the subscription, in order. Events after
// the subscription ended are dropped (the reader closed it).
func (f *Feed) Deliver(evs []Event) {
	sub := f.sub
	sub.mu.Lock()
	if sub.err != nil {
		sub.mu.Unlock()
		return
	}
	for i := range evs {
		sub.inbox.push(&evs[i])
		sub.received++
	}
	sub.mu.Unlock()
	sub.ring()
}

// End ends the subscription: after what it holds, Next returns err, which
// should wrap ErrEndOfStream. A second End is ignored.
func (f *Feed) End(err error) { f.sub.end(err) }

// SetID sets the subscription's ID (its subscriber ID on the far side);
// call it before handing the subscription to its reader.
func (f *Feed) SetID(id uint64) { f.sub.id = id }

// SetJoinedAfter sets what the subscription's JoinedAfter returns: the far
// stream's last sequence number when its subscriber joined. Call it before
// handing the subscription to its reader.
func (f *Feed) SetJoinedAfter(seq uint64) { f.sub.after, f.sub.afterKnown = seq, true }

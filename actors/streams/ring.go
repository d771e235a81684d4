package streams

// ring is a FIFO queue of events in one slice that grows by doubling up to
// what its owner allows and is reused afterwards, so a steady flow of events
// allocates nothing. Not safe for concurrent use: its owner locks.
type ring struct {
	buf  []Event
	head int // index of the oldest event
	n    int // events held
	max  int // capacity the slice never grows beyond (0: no limit); the owner never pushes more
}

const ringMinCap = 16

func (r *ring) len() int { return r.n }

// push appends e, growing the slice when it is full.
func (r *ring) push(e *Event) {
	if r.n == len(r.buf) {
		r.grow()
	}
	i := r.head + r.n
	if i >= len(r.buf) {
		i -= len(r.buf)
	}
	r.buf[i] = *e
	r.n++
}

// peek returns the oldest event; the ring must not be empty.
func (r *ring) peek() *Event { return &r.buf[r.head] }

// pop removes the oldest event and returns it; the ring must not be empty.
// The slot is cleared so the ring keeps no payload alive.
func (r *ring) pop() Event {
	e := r.buf[r.head]
	r.buf[r.head] = Event{}
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
	r.n--
	return e
}

// drop removes the oldest event, like pop without returning it.
func (r *ring) drop() {
	r.buf[r.head] = Event{}
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
	r.n--
}

// clear drops every event and returns how many there were.
func (r *ring) clear() int {
	n := r.n
	for r.n > 0 {
		r.pop()
	}
	r.head = 0
	return n
}

func (r *ring) grow() {
	c := max(2*len(r.buf), ringMinCap)
	if r.max > 0 {
		c = max(min(c, r.max), r.n+1)
	}
	buf := make([]Event, c)
	k := copy(buf, r.buf[r.head:])
	copy(buf[k:], r.buf[:r.head])
	r.buf, r.head = buf, 0
}

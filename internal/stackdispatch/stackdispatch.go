package stackdispatch

// Size is the stack a goroutine Go starts begins with (after its one
// growth); deeper calls grow it further as usual. Goroutine stacks come
// in powers of two: a frame of padBytes makes the runtime grow the stack to
// Size in one step. 16 KiB holds nearly every activation of the dispatch
// bench's actors; 32 KiB removed a little more copying but cost more in
// clearing grow's frame than it saved (CPU profiles, docs/performance.md).
const Size = 16 << 10

// padBytes is the frame of grow: more than half of Size, less than Size
// minus the runtime's guard and the few frames below grow.
const padBytes = Size/2 + 2<<10

// Go runs fn on a new goroutine whose stack is grown to Size first: for
// short-lived goroutines that go deep at once (the runner SDK's task
// goroutines).
func Go(fn func()) { go run(fn) }

func run(fn func()) {
	_ = grow()
	fn()
}

// at keeps grow's frame from being optimized away (it is never written).
var at int

// grow has a frame of padBytes, so calling it grows the goroutine's stack
// to Size while the stack holds two small frames. Its result is unused.
//
//go:noinline
func grow() byte {
	var pad [padBytes]byte
	return pad[at]
}

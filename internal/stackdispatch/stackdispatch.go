package stackdispatch

import "github.com/asynkron/protoactor-go/actor"

// Size is the stack an activation's goroutine starts with (after its one
// growth); deeper activations grow further as usual. Goroutine stacks come
// in powers of two: a frame of padBytes makes the runtime grow the stack to
// Size in one step. 16 KiB holds nearly every activation of the dispatch
// bench's actors; 32 KiB removed a little more copying but cost more in
// clearing grow's frame than it saved (CPU profiles, docs/performance.md).
const Size = 16 << 10

// padBytes is the frame of grow: more than half of Size, less than Size
// minus the runtime's guard and the few frames below grow.
const padBytes = Size/2 + 2<<10

// Throughput is how many messages an activation handles before it yields
// (runtime.Gosched), as protoactor's default dispatcher.
const Throughput = 300

// New returns the dispatcher: a goroutine per activation, its stack grown
// to Size first, throughput messages per pass.
func New(throughput int) actor.Dispatcher { return dispatcher(throughput) }

type dispatcher int

// Schedule runs fn on a new goroutine whose stack is grown first.
func (dispatcher) Schedule(fn func()) { go run(fn) }

// Throughput returns the messages per pass.
func (d dispatcher) Throughput() int { return int(d) }

// Go runs fn on a new goroutine whose stack is grown to Size first: for
// short-lived goroutines that go deep at once (the runner SDK's task
// goroutines), the same saving as the dispatcher's.
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

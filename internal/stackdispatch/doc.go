// Package stackdispatch starts goroutines on a stack grown once, at their
// start, to Size: Go is `go fn()` for short-lived goroutines that go deep at
// once (the runner SDK's task goroutines: the handler, protobuf, the
// write).
//
// A new goroutine starts with a small stack (2 KiB, or the runtime's
// average of the stacks it scanned, which idle goroutines keep small), and
// such a goroutine's stack grew three or four times, each growth copying
// the whole stack and walking every frame on it (runtime.copystack,
// runtime.pcvalue): in CPU profiles of the dispatch_p50 bench about a tenth
// of the CPU (docs/performance.md, "Dispatch round"). One growth at the
// bottom of the goroutine copies almost nothing.
//
// The node's hot actors have the same problem with protoactor's goroutine
// per activation; they run on actors' workerPool instead, whose long-lived
// goroutines keep their grown stacks between activations.
package stackdispatch

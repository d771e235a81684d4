// Package stackdispatch is a protoactor dispatcher for the node's hot actors
// (runner actors, the runner supervisor, the stream actors): like
// protoactor's default one it runs each activation of an actor (a pass over
// its mailbox) on a new goroutine, but that goroutine grows its stack once,
// at its start, to Size.
//
// A new goroutine starts with a small stack (2 KiB, or the runtime's
// average of the stacks it scanned, which idle goroutines keep small), and
// an activation of a runner actor goes deep (protoactor's invoker, the
// frame handling, the events, the hook, protobuf): its stack grew three or
// four times, and each growth copies the whole stack and walks every frame
// on it (runtime.copystack, runtime.pcvalue). A CPU profile of the
// dispatch_p50 bench put that at about a tenth of the node's CPU
// (docs/performance.md, "Dispatch round"). One growth at the bottom of the
// goroutine copies almost nothing. The goroutine, its ordering and its
// throughput are protoactor's own: the mailbox still schedules at most one
// activation at a time, so the actor semantics (one message at a time, the
// mailbox's priorities) are unchanged.
package stackdispatch

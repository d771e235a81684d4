// Package bench measures exo-actors against floors taken in the same run on
// the same machine: `exo-actors bench`.
//
// Every row compares a measured path through the runtime with a floor: the
// least the same work can cost on this machine, done without the runtime by
// a child of the same binary, with the same message and the same count. The
// row's ratio is value/floor and its goal a bound on that ratio, so the
// verdict (Result.OK) does not depend on how fast the machine is. The rows:
//
//   - events_1sub: a built-in runner streams N token chunks with no delay →
//     runner actor → the tasks stream → one Subscription (System.Subscribe on
//     TopicTasks, filtered by the runner and kind task_chunk, opened before
//     the Submit); chunk events delivered per second until the subscriber
//     has the last chunk (a Gap's dropped chunks do not count; its buffer
//     holds a whole task, so none is dropped). Floor: a child writes the
//     same N ChunkGenerated envelopes, one write per frame, read in the
//     parent with a plain protodelim read into a fresh envelope (no project
//     checks: those are part of the measured path). Goal ratio ≥ 1.0.
//   - events_4sub: the same with 4 Subscriptions; ns per delivered event
//     per subscriber against events_1sub's ns/event. Goal ≤ 1.2.
//   - dispatch_p50, dispatch_p99: Submit of a noop task until Wait returns
//     Complete; floor: one envelope's round trip through an echo child,
//     alternating with the measured samples. Goal for p50 ≤ 2.0; p99 has no
//     goal. dispatch_p50_b2b: the same p50 against the echo round trip back
//     to back (both sides hot); no goal.
//   - flood_control_ms, flood_probe_ms: while a runner floods (a task of
//     1,000,000 chunks, one subscriber reading 10× slower), the p99 of a
//     StopRunner's reply and of control messages through the runner's
//     mailbox (System.PingRunner), against the same on an idle runner. Goal
//     ≤ 2 each.
//   - heap_flood: growth of the live heap while a runner floods 1,000,000
//     chunks to a subscriber reading 10× slower; absolute goal 16 MiB (the
//     floor column holds it).
//   - uptime_heap_growth: live heap after 20,000 spawn/stop cycles and
//     200,000 tasks against after the first tenth. Goal ≤ 1.10.
//   - crash_detect: SIGKILL of a Ready runner until the hook receives its
//     Failed status; floor: SIGKILL of a bare child until Wait returns. Goal
//     ≤ 1.5.
//   - restart: SIGKILL until the replacement is Ready, with no backoff delay
//     and no loading delay; floor: exit detection plus exec of the same
//     binary until its Hello frame. Goal ≤ 1.2.
//   - shutdown_100: graceful Shutdown of 100 idle runners; floor: 100 bare
//     `exo-actors runner` children, handshaken by hand, each sent a Shutdown
//     frame and waited for, in parallel. No goal.
//   - memory_per_runner: Go heap plus goroutine stacks per idle runner actor,
//     from runtime.MemStats deltas over 100 runners. The goal is absolute (64
//     KiB), so the floor column holds that budget, not a measurement.
//   - health_overhead: dispatch p50 (as dispatch_p50) on one of 100 Ready
//     runners while the health monitor checks all of them every 100 ms;
//     floor: the same in a system without the monitor. The two run one
//     after the other, twice each at least, in swapped order. Goal ≤ 1.05.
//
// The child side of the floors (Child) runs as the hidden `exo-actors
// bench-child` command. docs/performance.md has the numbers and what
// dominates each ratio.
package bench

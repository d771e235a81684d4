package actors

import (
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/streams"
)

// Defaults of the event hook's delivery.
const (
	// DefaultHookSlow is the call duration above which a synchronous hook
	// call is counted as slow and logged (throttled): the emitting actor was
	// stalled that long.
	DefaultHookSlow = 10 * time.Millisecond
	// hookWarnEvery throttles the hook's warnings.
	hookWarnEvery = time.Second
)

// HookStats is the accounting of the node's EventHook.
type HookStats struct {
	// Async: the hook runs on its own goroutine behind a queue of
	// QueueSize events (NodeConfig.HookQueue > 0).
	Async     bool
	QueueSize int
	// Calls counts hook calls made; Queued the events waiting (async).
	Calls  uint64
	Queued int
	// Dropped counts events the async hook never saw: its queue was full
	// (the hook is slower than the node emits) or the node had shut down.
	Dropped uint64
	// Slow counts calls that took longer than NodeConfig.HookSlow; MaxCall
	// is the longest call; Stalled sums the time of the slow calls. For a
	// synchronous hook that is time an actor (a runner, the supervisor)
	// spent inside the hook instead of supervising.
	Slow    uint64
	MaxCall time.Duration
	Stalled time.Duration
	// Panics counts calls in which the hook panicked. The panic is
	// recovered where the hook was called (the emitting actor, or the
	// async hook's goroutine) and logged at error level with its stack, at
	// most once per second; the actor goes on, and the event counts as
	// delivered. A bug in the host's hook never fails a runner, the
	// supervisor or a stream, nor ends the process.
	Panics uint64
}

// hookRunner delivers events to the host's EventHook, either synchronously
// on the emitting actor (the default: the hook sees each event before the
// actor goes on to its next message, and a task's events before its Wait
// returns; the events of one batch of stdout frames in one go at the end of
// the batch, deliverBatch) or asynchronously on one goroutine behind a bounded queue
// (NodeConfig.HookQueue > 0), where a full queue drops the event and counts
// it, like a slow subscriber's buffer: a slow hook then never stalls
// supervision. Either way every call is timed, and slow ones are counted and
// logged, so a stall is never silent.
type hookRunner struct {
	fn     EventHook
	slow   time.Duration
	logger *logrus.Logger
	// epoch is a reading with a monotonic clock: a call is timed with
	// time.Since(epoch) before and after, which reads the monotonic clock
	// only (time.Now reads the wall clock too; on this VM the pair cost
	// ~4% of a flooding runner's event path).
	epoch time.Time

	q    chan Event    // async only; never closed (emitters may still send)
	stop chan struct{} // sole sender: hookRunner.close, once
	once sync.Once
	wg   sync.WaitGroup

	calls, slowCalls, dropped  atomic.Uint64
	panics                     atomic.Uint64
	lastPanic                  atomic.Int64 // UnixNano of the last panic logged (throttle)
	maxNs, stalledNs, lastWarn atomic.Int64

	// enqueueing, when set (tests only), runs in deliver between its stop
	// check and its send: a close can finish there.
	enqueueing func()
	// elapsed, when set (tests only), replaces time.Since(epoch): a fake
	// clock for the timing of calls.
	elapsed func() time.Duration
}

// since is the time since epoch (the fake clock's, in tests).
func (h *hookRunner) since() time.Duration {
	if h.elapsed != nil {
		return h.elapsed()
	}
	return time.Since(h.epoch)
}

func newHookRunner(fn EventHook, queue int, slow time.Duration, logger *logrus.Logger) *hookRunner {
	if fn == nil {
		return nil
	}
	if slow <= 0 {
		slow = DefaultHookSlow
	}
	h := &hookRunner{fn: fn, slow: slow, logger: logger, epoch: time.Now(), stop: make(chan struct{})}
	if queue > 0 {
		h.q = make(chan Event, queue)
		h.wg.Add(1)
		go h.loop()
	}
	return h
}

// deliver hands e to the hook: a call now, or a place in the queue.
func (h *hookRunner) deliver(e Event) {
	if h == nil {
		return
	}
	if h.q == nil {
		h.call(e)
		return
	}
	select {
	case <-h.stop: // shut down: nobody will read the queue
		h.dropped.Add(1)
		return
	default:
	}
	if h.enqueueing != nil {
		h.enqueueing()
	}
	select {
	case h.q <- e:
		select {
		case <-h.stop:
			// close began after the check above and may have drained the
			// queue already: nobody would read e. Take one event back
			// (e or an older one; whoever receives an event counts it),
			// so each event is delivered or counted as dropped.
			select {
			case <-h.q:
				h.dropped.Add(1)
			default:
			}
		default:
		}
	default:
		h.dropped.Add(1)
		h.warn("event hook queue full: event dropped (the hook is slower than the node emits; raise Config.HookQueue or make the hook faster)")
	}
}

func (h *hookRunner) call(e Event) {
	start := h.since()
	h.run(e)
	h.calls.Add(1)
	h.account(h.since() - start)
}

// deliverBatch hands the hook the events a runner actor collected while it
// handled one batch of stdout frames (outbox.go), in emit order; each
// Payload is an Event. Synchronous calls run back to back and are timed
// with one clock reading before the first and one after each: a call's
// duration is the time since the previous call ended, so it includes the
// previous call's accounting (a few ns) and nothing else, with half the
// clock readings of timing each call on its own (a reading costs ~30 ns
// on this VM, and a streaming runner makes one call per token). An
// accounting that logged (a slow call's warning: a logrus write, which
// can take long) is followed by a fresh reading, so the next call is not
// charged with the log's time.
func (h *hookRunner) deliverBatch(evs []streams.Event) {
	if h == nil || len(evs) == 0 {
		return
	}
	if h.q != nil {
		for i := range evs {
			h.deliver(evs[i].Payload.(Event))
		}
		return
	}
	prev := h.since()
	for i := range evs {
		h.run(evs[i].Payload.(Event))
		end := h.since()
		if h.account(end - prev) {
			end = h.since()
		}
		prev = end
	}
	h.calls.Add(uint64(len(evs)))
}

// account records one call that took d: the longest call, and the slow
// ones (counted, summed, and for a synchronous hook logged, throttled).
// It reports whether it logged.
func (h *hookRunner) account(d time.Duration) (logged bool) {
	for {
		m := h.maxNs.Load()
		if int64(d) <= m || h.maxNs.CompareAndSwap(m, int64(d)) {
			break
		}
	}
	if d > h.slow {
		h.slowCalls.Add(1)
		h.stalledNs.Add(int64(d))
		if h.q == nil {
			return h.warn("slow event hook: the emitting actor was stalled " + d.Round(time.Microsecond).String() + " (Config.HookQueue > 0 runs the hook off the actors)")
		}
	}
	return false
}

// run calls the hook, recovering a panic of the host's code: counted
// (HookStats.Panics) and logged with its stack at most once per
// hookWarnEvery. Left alone it would fail the emitting actor (a runner
// retired as if exo-actors had a bug, the supervisor, a stream), or end
// the process from the async hook's goroutine.
func (h *hookRunner) run(e Event) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		n := h.panics.Add(1)
		now := time.Now().UnixNano()
		last := h.lastPanic.Load()
		if now-last < int64(hookWarnEvery) || !h.lastPanic.CompareAndSwap(last, now) {
			return
		}
		h.logger.WithFields(logrus.Fields{"panic": fmt.Sprint(p), "event": strings.TrimPrefix(fmt.Sprintf("%T", e), "*actors."), "runner_id": e.eventRunnerID(),
			"panics": n, "stack": string(debug.Stack())}). // panics: the running count; those between two logged ones are counted, not logged
			Error("event hook panicked (a bug in the host's hook): recovered; the event counts as delivered and the node goes on")
	}()
	h.fn(e)
}

// warn logs at most once per hookWarnEvery, and reports whether it logged.
func (h *hookRunner) warn(msg string) bool {
	now := time.Now().UnixNano()
	last := h.lastWarn.Load()
	if now-last < int64(hookWarnEvery) || !h.lastWarn.CompareAndSwap(last, now) {
		return false
	}
	h.logger.WithFields(logrus.Fields{"dropped": h.dropped.Load(), "slow_calls": h.slowCalls.Load()}).Warn(msg)
	return true
}

func (h *hookRunner) loop() {
	defer h.wg.Done()
	for {
		select {
		case e := <-h.q:
			h.call(e)
		case <-h.stop:
			for { // what was queued before the close
				select {
				case e := <-h.q:
					h.call(e)
				default:
					return
				}
			}
		}
	}
}

// close ends the async hook's goroutine after the events already queued,
// and waits for it (a hook call in progress is waited for). Events emitted
// later are dropped and counted. Idempotent; nil-safe.
func (h *hookRunner) close() {
	if h == nil {
		return
	}
	h.once.Do(func() {
		close(h.stop) // sole sender: hookRunner.close, once
	})
	h.wg.Wait()
	if h.q != nil {
		// Nobody reads the queue any more: what arrives now is dropped
		// once it is full; count what it already holds as dropped too.
		for {
			select {
			case <-h.q:
				h.dropped.Add(1)
			default:
				return
			}
		}
	}
}

func (h *hookRunner) stats() HookStats {
	if h == nil {
		return HookStats{}
	}
	return HookStats{Async: h.q != nil, QueueSize: cap(h.q), Calls: h.calls.Load(), Queued: len(h.q),
		Dropped: h.dropped.Load(), Slow: h.slowCalls.Load(),
		MaxCall: time.Duration(h.maxNs.Load()), Stalled: time.Duration(h.stalledNs.Load()), Panics: h.panics.Load()}
}

// callHook hands e to the host's hook (see hookRunner).
func (n *nodeConfig) callHook(e Event) {
	if n.observe != nil {
		n.observe(e) // the node's own metrics and health history: cheap, synchronous
	}
	n.hook.deliver(e)
}

// HookStats returns the accounting of the node's EventHook (zero without
// one).
func (n *Node) HookStats() HookStats { return n.cfg.hook.stats() }

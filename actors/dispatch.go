package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// The hot actors' dispatcher.
//
// protoactor's default dispatcher starts a new goroutine for every mailbox
// activation (`go processMessages()`). A new goroutine starts with a small
// stack, and the runner actor's and stream actor's call paths (a Frames
// batch → ledger → hook → outbox; a publish batch → the subscribers) are
// deeper than that: each activation grew its stack again (runtime.newstack
// and copystack were ~8% of the node's CPU while a runner streamed chunks,
// docs/performance.md "Node CPU round"). A workerPool runs activations on a
// few long-lived goroutines whose stacks stay grown between activations.

// poolState is a workerPool's lifecycle: open → closed (close, once).
// While open, Schedule hands work to an idle worker or starts one (up to
// the pool's size); once closed, workers end and every Schedule starts a
// goroutine of its own, as protoactor's default dispatcher does.
type poolState int

const (
	poolOpen poolState = iota
	poolClosed
)

// workerPoolSize bounds the pool's goroutines. Activations beyond it (more
// busy actors than workers at one moment) get a goroutine of their own.
const workerPoolSize = 8

// dispatchThroughput is the messages an activation processes before it
// yields, protoactor's default (actor.defaultDispatcher).
const dispatchThroughput = 300

// workerPool is an actor.Dispatcher over a bounded set of long-lived
// goroutines. It never queues: Schedule gives fn to a worker waiting for
// work, or to a new worker while there are fewer than workerPoolSize, or
// else to a new goroutine, so an activation never waits behind another.
// The node owns it: close ends the workers (after the actor tree stopped)
// and waits for them.
type workerPool struct {
	work chan func()   // unbuffered, never closed: only idle workers receive
	stop chan struct{} // sole sender: workerPool.close, once (under mu)

	mu      sync.Mutex
	state   poolState
	workers int
	wg      sync.WaitGroup
}

var _ actor.Dispatcher = (*workerPool)(nil)

func newWorkerPool() *workerPool {
	return &workerPool{work: make(chan func()), stop: make(chan struct{})}
}

// Schedule implements actor.Dispatcher.
func (p *workerPool) Schedule(fn func()) {
	select {
	case p.work <- fn: // an idle worker took it
		return
	default:
	}
	p.mu.Lock()
	if p.state == poolOpen && p.workers < workerPoolSize {
		p.workers++
		p.wg.Add(1)
		p.mu.Unlock()
		go p.worker(fn)
		return
	}
	p.mu.Unlock()
	go fn()
}

// Throughput implements actor.Dispatcher.
func (p *workerPool) Throughput() int { return dispatchThroughput }

func (p *workerPool) worker(fn func()) {
	defer p.wg.Done()
	for {
		fn()
		select {
		case fn = <-p.work:
		case <-p.stop:
			return
		}
	}
}

// close ends the workers once they finish what they run, and waits for
// them. Idempotent; nil-safe. Later activations get goroutines of their own.
func (p *workerPool) close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	if p.state == poolOpen {
		p.state = poolClosed
		close(p.stop) // sole sender: workerPool.close, once (state moves to poolClosed under mu)
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// dispatcher is the props option of the node's hot actors (runner and
// stream actors): their activations run on the node's workerPool.
func (n *nodeConfig) dispatcher() actor.PropsOption {
	if n.pool == nil {
		return func(*actor.Props) {}
	}
	return actor.WithDispatcher(n.pool)
}

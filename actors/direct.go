package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// directRoutes lets Node.Submit put a task straight into a runner actor's
// mailbox instead of through the runner supervisor: one goroutine hand-off
// less on every task's way to the runner, most of a noop task's dispatch
// latency on an idle node (docs/performance.md, "Dispatch round"). A route
// is open exactly while the supervisor would forward a Submit to the
// runner's actor: the supervisor opens it with the child it forwards to
// (setChild) and withdraws it, on its own goroutine, before anything that
// makes it stop forwarding (dropChild: a stop, a failure, a restart
// backoff, the actor's end; closeAll: SIGNALING). Everything else a
// Submit can meet (an unknown runner, a node shutting down, a runner in its
// backoff or gone) finds no open route and goes through the supervisor,
// which answers as before.
//
// A Submit is posted under its route's lock, and the supervisor withdraws a
// route under that lock before it poisons the actor or stops forwarding to
// it: a Submit that found the route open is in the mailbox before the
// pill, so the actor answers it, exactly like one the supervisor forwarded
// just before. That holds for an actor that panicked too: a Submit posted
// between the panic and the supervisor's HandleFailure waits in the
// suspended mailbox, and the retired actor (Panicked, runner_panic.go)
// answers it with the panic before the pill stops it. The map holds one
// entry per runner that has a live actor, so it is bounded by the live
// runners.
type directRoutes struct {
	m sync.Map // runner ID → *directRoute
}

// directRoute is one runner's route; pid is nil once withdrawn.
type directRoute struct {
	mu  sync.Mutex
	pid *actor.PID
}

// open (re)opens id's route to pid. Supervisor goroutine only.
func (r *directRoutes) open(id string, pid *actor.PID) {
	r.close(id)
	r.m.Store(id, &directRoute{pid: pid})
}

// close withdraws id's route, waiting for a Submit being posted on it.
// Supervisor goroutine only.
func (r *directRoutes) close(id string) {
	v, ok := r.m.LoadAndDelete(id)
	if !ok {
		return
	}
	rt := v.(*directRoute)
	rt.mu.Lock()
	rt.pid = nil
	rt.mu.Unlock()
}

// closeAll withdraws every route (the node stops taking work).
func (r *directRoutes) closeAll() {
	r.m.Range(func(k, _ any) bool {
		r.close(k.(string))
		return true
	})
}

// send posts msg to id's runner actor if its route is open, and reports
// whether it did; if not, the caller goes through the supervisor.
func (r *directRoutes) send(system *actor.ActorSystem, id string, msg any) bool {
	v, ok := r.m.Load(id)
	if !ok {
		return false
	}
	rt := v.(*directRoute)
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.pid == nil {
		return false
	}
	system.Root.Send(rt.pid, msg)
	return true
}

// setChild records id's live runner actor: the supervisor forwards to it,
// and Submit may address it directly.
func (s *runnerSupervisor) setChild(id string, pid *actor.PID) {
	s.children[id] = pid
	s.node.routes.open(id, pid)
}

// dropChild forgets id's runner actor: nothing more is forwarded to it,
// and Submit goes through the supervisor again. The route is withdrawn
// first, so no Submit reaches the actor after what follows (a poison pill,
// a backoff).
func (s *runnerSupervisor) dropChild(id string) {
	s.node.routes.close(id)
	delete(s.children, id)
}

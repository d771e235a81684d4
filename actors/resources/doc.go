// Package resources manages the resources around runners — a runner's
// process, its pipes, temporary directories, subscriptions, listeners, and
// anything a host registers — as actors in a dependency graph, and closes
// them in reverse dependency order.
//
// # Model
//
// A resource is a Spec: a name (unique on the node), a kind, the names it
// depends on, an owner (usually a runner ID) and the owner's generation, a
// Close function with a timeout, and optionally a Reset function. One
// manager actor holds the graph; each resource has an actor of its own under
// it, which runs that resource's Close and Reset. Everyone else talks to the
// manager through a Client:
//
//	m := resources.NewManager(resources.Config{Clock: clk, OnFailure: record})
//	rc, err := m.Spawn(actorCtx, "resources") // in the parent's Started; or actorCtx.SpawnNamed(m.Props(), ...)
//	err = rc.Register(ctx,
//		resources.Spec{Name: "r1/stdout", Kind: "pipe", Owner: "r1", Generation: 1, Close: closePipe},
//		resources.Spec{Name: "r1/process", Kind: "process", Owner: "r1", Generation: 1,
//			DependsOn: []string{"r1/stdout"}, Close: kill})
//	report, err := rc.CloseOwner(ctx, "r1") // when the runner stops
//	err = m.Wait(ctx)                       // at shutdown: no close function left running
//
// A Client call blocks on the manager's answer: an actor must not make one
// on its own goroutine while the manager might need that actor (it would
// wait for itself); actors send to Client.PID or call from a goroutine.
//
// Register is all or nothing. A dependency must be registered already or be
// in the same call; a missing one is refused (ErrMissingDependency), so is a
// cycle (*CycleError, "dependency cycle: a → b → c → a") and a name
// registered already (ErrDuplicate). A runner registers its resources when
// it starts and again after each restart, with the new generation; the
// names of the previous generation must have been closed first (CloseOwner),
// otherwise Register says which resource of which generation is still there
// (ErrStillRegistered).
//
// # States
//
//	Registered ──Activate──▶ Active
//	Registered, Active ──ReportError──▶ Error ──Reset──▶ Resetting ──▶ Active | Error
//	Registered, Active, Error ──cleanup──▶ Closing ──▶ Closed | Error, and out of the graph
//
// Every error counts: a failed or timed-out close, a reported error, a
// failed reset. Snapshot shows each registered resource with its state and
// error count, and per owner and for the node the number of resources in
// each state plus the events since the start (closed, close failed, timed
// out, resets, functions finished after their timeout, functions lingering).
//
// # Ordering and parallelism
//
// CloseOwner(owner) closes the owner's resources; CloseAll closes all. The
// set to close is the resources in scope plus everything that depends on
// them: a resource of another owner that depends on one in scope closes
// first, in the same cleanup, and is reported as Dependent. The manager
// starts the close of every resource in the set that nothing in the graph
// depends on any more, all at once, and each time a close finishes it starts
// those that became free: a resource closes only after everything that
// depends on it finished closing (Closed or Error), and independent
// resources close in parallel. A resource leaves the graph as soon as its
// close finished. While a cleanup runs, its resources can gain no new
// dependents and cannot be activated or reset (ErrBeingClosed); a second
// cleanup that covers them waits for the same closes and reports them too.
// The CloseReport lists every close in the order they finished, with owner,
// start, duration and outcome.
//
// # Timeouts
//
// Close runs on a goroutine the resource actor owns; a timer on the
// manager's clock bounds it (Spec.CloseTimeout, default 5s), and the
// goroutine Sends its result to the actor when Close returns. If the timer
// fires first, the close context is cancelled, the resource ends in Error
// (CloseTimedOut) and the cleanup goes on. A failed or timed-out close is an
// errhandler.Failure of kind KindResourceCloseFailed (component "resource",
// operation "close", RunnerID the owner), in the report and passed to
// Config.OnFailure, so the node records it as an error record (its cleanup
// was forced). A function that ignores its context keeps running after its
// timeout: the report marks it StillRunning, the snapshot lists it under
// Lingering until it returns, and then it is counted as finished late (and
// Config.OnFinishedLate learns of it, to resolve the error record). The
// resource actor stays alive until the function's result arrived, so that
// message is never lost; Manager.Wait waits for every such goroutine. Panics
// in Close and Reset are recovered and count as errors.
//
// # Reset
//
// Reset(name) runs the Reset function of a resource in Error (reported
// broken, or a failed reset) on the same terms as Close: its own goroutine,
// the same timeout. Success makes it Active again; failure leaves it in
// Error. Either way the outcome is recorded (LastReset, Resets,
// ResetFailures) and returned to the caller. A health monitor (planned) would use it.
//
// # Supervision
//
// Every Props here has an explicit supervisor strategy. The manager actor is
// the supervisor of the resource actors: should one fail (a bug — user code
// runs only on the op goroutines), it is stopped and what it was doing ends
// as an error, so no caller waits forever. The manager keeps the graph in its
// actor and never fails on its callers' input: its parent must resume or
// stop it, not restart it. The manager answers every waiting caller with
// ErrManagerStopped when it stops.
package resources

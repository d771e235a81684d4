// Package runtime is the API for host programs that embed exo-actors: start
// a System, spawn runners (worker processes that load a model and stream
// tokens over the runner protocol), submit tasks and read their chunks,
// follow events, register resources, and shut everything down in three
// phases. A host imports this package (and runtime/runner to write a Go
// runner, runtime/clock to test with a fake clock) and nothing else of
// exo-actors; every type here is complete in `go doc`.
//
//	import exo "github.com/exo-actors/exo-actors/runtime"
//
//	sys, err := exo.New(exo.Config{Logger: logger})
//	id, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "llama", Command: "/usr/bin/my-runner"})
//	err = sys.WaitReady(ctx, id) // nil once Ready; else the runner's failure
//	h, err := sys.Submit(ctx, id, exo.Task{ID: "t1", Kind: "text_generation", Payload: prompt})
//	var text strings.Builder
//	for {
//		c, err := h.Next(ctx)
//		if errors.Is(err, exo.ErrTaskRetried) {
//			text.Reset() // a Retryable task restarted: the earlier attempt is void
//			continue
//		}
//		if errors.Is(err, exo.ErrChunkDropped) {
//			continue // read too slowly: the handle kept only the latest TaskLimits.HandleChunks
//		}
//		if err != nil {
//			break // io.EOF after the last chunk (h.Wait says whether the task completed)
//		}
//		if c.Error != "" {
//			break // the task failed (its runner crashed, its node was lost, its client closed): the output was cut; see h.Wait
//		}
//		text.WriteString(c.Text)
//	}
//	report, err := sys.Shutdown(ctx) // SIGNALING → DRAINING → CLOSING
//	fmt.Print(report)
//
// # Lifecycle and what blocks
//
// New starts the actor system and returns; SpawnRunner returns the runner's
// ID at once (it refuses a spec or command that cannot work); WaitReady
// blocks until the runner is Ready or failed; Submit returns a TaskHandle
// once the task is queued; the handle's Next, Chunk and Wait block for
// chunks and the outcome. Shutdown blocks until every phase is done or past
// its deadline, and returns the same report to every caller; Done is
// closed then. Every method is safe for concurrent use; those that take a
// context are bounded by its deadline, or by Config.RequestTimeout.
//
// # Events
//
// Each event (ProcessStarted, StatusChanged, ProcessExited, RunnerFailed,
// RunnerStopped, HealthChanged, TaskStatusChanged, TaskAcknowledged,
// TaskRetried, TaskChunk, SupervisionDecision, Alert, HealthAlert) reaches the host two ways: Config.Hook, called
// on the actor's goroutine (it must not block or call the System), and the
// topic's stream (Subscribe), which numbers events, applies credit and tells
// a slow reader what it lost with a Gap event. Events are values; a type
// switch names the value types.
//
// # Errors
//
// Test errors with errors.Is: ErrInvalidSpec, ErrUnknownRunner,
// ErrShuttingDown, ErrQueueFull, ErrRunnerNotAvailable, ErrTaskNotFound,
// ErrRunnerFailed (errors.As finds the *RunnerFailure), ErrEndOfStream, and
// the resource errors. Every error text is one line that names the thing,
// says what happened once, and says what to do.
//
// Under the hood each runner is an actor under a supervision tree (package
// actors, which hosts do not import); docs/architecture.md explains the
// model and docs/host-guide.md walks through embedding.
//
// During and after Shutdown every method answers with a documented
// sentinel: SpawnRunner, Submit and RegisterResources return ErrShuttingDown
// once Shutdown began; after it finished, StopRunner, Cancel, ForceKill,
// Resources and those three return ErrStopped (which also matches
// ErrShuttingDown with errors.Is), Runners returns every runner's final
// state, Subscribe returns a Subscription that has ended, and StreamStats,
// ErrorRecords and ErrorStats return the final accounting.
//
// A node process (`exo-actors node`, or System.Serve) is reached with Dial:
// its Client has the same methods, and both satisfy Node, so code written
// against Node runs on either. What changes when a host switches is how it
// gets the Node (New or Dial), the RunnerSpec (a Client names only a kind
// its node's config has; a System takes the Command or Builtin), and what
// lies outside Node: the System's Config and Shutdown against the Client's
// ShutdownNode and Close. See docs/remote.md, "The Go API". A cluster of nodes (`exo-actors node --cluster`) is
// reached with DialCluster: its ClusterClient is a Node too, places
// runners by kind and moves a lost member's runners and Retryable tasks
// (docs/cluster.md).
package runtime

// Package runtime is the public API for hosts that embed exo-actors: start a
// System, spawn runners (worker processes that speak the runner protocol),
// stop them, list them, and shut everything down. Hosts usually alias it:
//
//	import exo "github.com/exo-actors/exo-actors/runtime"
//
//	sys, err := exo.New(exo.Config{Logger: logger})
//	id, err := sys.SpawnRunner(ctx, exo.RunnerSpec{Kind: "llama", Command: "/usr/bin/my-runner"})
//	...
//	report, err := sys.Shutdown(ctx) // SIGNALING → DRAINING → CLOSING
//	fmt.Print(report)
//
// Under the hood each runner is an actor under a supervision tree (package
// actors); the types shared with it are defined there once and re-exported
// here as aliases. Events (status changes, exits, failures, stops) reach the
// host through the EventHook in Config.
//
// During and after Shutdown every method answers with a documented
// sentinel: SpawnRunner, Submit and RegisterResources return ErrShuttingDown
// once Shutdown began; after it finished, StopRunner, Cancel, ForceKill,
// Resources and those three return ErrStopped (which also matches
// ErrShuttingDown with errors.Is), Runners returns every runner's final
// state, Subscribe returns a Subscription that has ended, and StreamStats,
// ErrorRecords and ErrorStats return the final accounting.
package runtime

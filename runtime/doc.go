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
// A node process (`exo-actors node`, or System.Serve) is reached with Dial:
// its Client has the same methods, and both satisfy Node, so a host switches
// between an embedded System and a remote node by changing one line. See
// docs/remote.md.
package runtime

// Package actors holds the actor implementations of exo-actors: the node root,
// the runner supervisor and the runner actors that each own one OS process.
// The public face is package runtime; hosts should not need this package.
//
// The supervision tree of one node:
//
//	node root              spawned under a guardian whose strategy never escalates
//	├── streams            one stream actor per topic (package streams)
//	├── resources          the resource manager and its resource actors (package resources)
//	└── runners            the runner supervisor; implements actor.SupervisorStrategy itself
//	    └── runner-<id>    owns one runner process at a time
//
// A runner actor fails by panicking with a *RunnerFailure, only after its
// process is dead and reaped and all four of its goroutines (internal/proc)
// have sent their last message; protoactor hands the value to the runner
// supervisor's HandleFailure. The runner's *slot* (ID, generation counter,
// attempts, last status) belongs to the supervisor and outlives any one actor
// incarnation; every message from a process goroutine carries the generation
// of its process, and messages of an older generation are dropped and counted.
//
// See docs/architecture.md for the lifecycle, crash sources and stop escalation.
package actors

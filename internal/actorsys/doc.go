// Package actorsys makes the protoactor actor systems of this module. Every
// one (a node's, a client endpoint's, a cluster member's, the CLI's cluster
// hosts') is made by New, which gives it a process registry of 32 Go maps
// instead of protoactor's 32,768, so that its memory neither starts large
// nor grows with the actors and futures it has seen (docs/traps.md). A test
// of this package fails on an actor.NewActorSystem anywhere else in the
// module's non-test code.
package actorsys

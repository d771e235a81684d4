// Package gateway is a node's remote-facing actor: the one actor of a node
// that other processes reach, through protoactor remote (gRPC), with the
// protobuf messages of messages/exo/v1/gateway.proto. It spawns runners of
// the kinds the node's configuration names (never anything else), submits
// and cancels tasks and streams their chunks and outcome back, stops and
// lists runners, relays stream subscriptions with credit-based flow
// control, and reports the node's status and shutdown.
//
// The node's supervision tree stays local: a runner lives with its process.
// Errors cross the wire as codes plus text (Code, Error) that map back to
// the same sentinel errors on the client (package runtime's Client).
//
// Each client is a session: the gateway watches the client's session actor
// and expects its heartbeat; when the client goes away (its process dies,
// its connection drops, or it stops pinging) its subscriptions end and, if
// the node is configured so, its open tasks are cancelled. A runner the
// client spawned but never said it learned of (a spawn it gave up on, or
// one still unsettled when its session ends) is stopped: spawnsettle.go.
// See docs/remote.md.
//
// Every stream event crosses typed: wire.go converts each event type of
// package actors to its GwEvent message and back without losing a field,
// and packed.go writes and reads the bulk of a stream (token chunks) field
// by field, as bytes that are a GwEventList all the same.
package gateway

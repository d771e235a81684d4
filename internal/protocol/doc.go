// Package protocol holds the rules of the runner protocol that both sides must
// agree on: the version range this build speaks and how two ranges are
// negotiated, the runner status transitions that are legal, well-known
// capabilities and environment variables. The runner SDK (runtime/runner) and
// the runner actor (actors) both use it, so they cannot drift apart.
// docs/protocol.md describes the same rules for runners in other languages.
package protocol

// Package testutil holds what several packages' tests share: building the
// exo-actors binary once (without -race, to run as a runner or a CLI),
// describing runner frames on one line for exact comparisons, and finding
// test-marked processes in /proc (a zombie counts as gone), reserving
// ports, and an HTTP client that never reads with a listener that shows
// when the server gives its connection up (DeafDial, WatchConns).
package testutil

package testutil

import (
	"strconv"
	"testing"

	"github.com/exo-actors/exo-actors/internal/loopport"
)

// ReservePorts returns n ports on 127.0.0.1 for listeners that processes
// the test starts will open (a cluster member's automanaged port, etcd's
// ports), held until the test's cleanup: outside the kernel's ephemeral
// range and kept from every other test process (package loopport). Call
// it before starting those processes, so that their cleanup (which runs
// first) ends them before the ports are given back.
//
// Never pick such a port by listening on port 0 and closing: the kernel
// hands the same port to the next port-0 listener or outgoing connection,
// another test's node among them.
func ReservePorts(t testing.TB, n int) []int {
	t.Helper()
	r, err := loopport.Reserve(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Release)
	return r.Ports
}

// DeadAddr returns "127.0.0.1:PORT" where nothing listens for the rest of
// the test: a reserved port (see ReservePorts) nobody opens.
func DeadAddr(t testing.TB) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(ReservePorts(t, 1)[0])
}

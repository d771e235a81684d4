package testutil

import (
	"errors"
	"net"
	"strconv"
	"syscall"
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

// NotHostIP returns 192.0.2.1 (TEST-NET-1, RFC 5737), an address no
// interface of this host has: a listen on it fails at once in bind(2)
// with EADDRNOTAVAIL, and no packet is sent. The test is skipped when the
// host has it after all (then the bind succeeds). Tests must never send
// traffic to it, only fail to listen on it.
func NotHostIP(t testing.TB) string {
	t.Helper()
	const ip = "192.0.2.1"
	ln, err := net.Listen("tcp", ip+":0")
	if err == nil {
		ln.Close()
		t.Skipf("this host has %s: no address to fail a listen on", ip)
	}
	if !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Skipf("listen on %s: %v, not EADDRNOTAVAIL", ip, err)
	}
	return ip
}

// Package loopport reserves TCP ports on 127.0.0.1 for a listener that
// another process opens later: a cluster member's automanaged port or
// etcd's ports, which must be known before the process starts, or an
// address a test wants nothing to listen on.
//
// The usual trick, listening on port 0 and closing the listener, hands
// out a port from the kernel's ephemeral range, where the kernel gives the
// same port to the next process that listens on port 0 or dials out: a
// node's gateway in a test running beside, a client's connection. That
// happened in CI (a member's automanaged port taken by another test's gRPC
// listener). A reservation here avoids both ways a port is taken by
// someone else:
//   - the port comes from outside the kernel's ephemeral range
//     (/proc/sys/net/ipv4/ip_local_port_range), so no port-0 listener and
//     no outgoing connection is given it;
//   - while reserved, the port's byte in one lock file (an fcntl lock,
//     which the kernel drops when the process ends) keeps every other
//     process using this package off it, and a set keeps this process's
//     other callers off it.
//
// A candidate that something already listens on is passed over.
package loopport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// minPort is the lowest port handed out: below it live well-known and
// registered services that a machine may run.
const minPort = 10000

// Reservation holds ports until Release.
type Reservation struct {
	Ports []int
	once  sync.Once
}

var (
	mu       sync.Mutex
	lockFile *os.File         // opened once, never closed: closing any descriptor of the file drops this process's fcntl locks
	held     = map[int]bool{} // ports this process holds; bounded by the range
)

// Reserve reserves n ports on 127.0.0.1 that are outside the kernel's
// ephemeral range, that no listener holds now and that no other caller of
// this package, in this or another process, holds. The caller releases
// them when the processes that listen on them have ended.
func Reserve(n int) (*Reservation, error) {
	lo, hi, err := candidateRange()
	if err != nil {
		return nil, err
	}
	return reserveIn(lo, hi, n)
}

// reserveIn is Reserve among the ports lo..hi.
func reserveIn(lo, hi, n int) (*Reservation, error) {
	mu.Lock()
	defer mu.Unlock()
	if lockFile == nil {
		f, err := os.OpenFile(filepath.Join(os.TempDir(), "exo-actors-loopport.lock"), os.O_RDWR|os.O_CREATE, 0o666)
		if err != nil {
			return nil, fmt.Errorf("reserve loopback ports: %w", err)
		}
		_ = f.Chmod(0o666) // past the umask: another user's tests on this machine share the lock file (best effort: only its owner can)
		lockFile = f
	}
	r := &Reservation{}
	size := hi - lo + 1
	start := rand.IntN(size)
	for i := 0; i < size && len(r.Ports) < n; i++ {
		p := lo + (start+i)%size
		if held[p] || !lockPort(p) {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil { // someone outside this package listens there
			unlockPort(p)
			continue
		}
		l.Close()
		held[p] = true
		r.Ports = append(r.Ports, p)
	}
	if len(r.Ports) < n {
		r.release()
		return nil, fmt.Errorf("reserve loopback ports: only %d of %d free in %d-%d", len(r.Ports), n, lo, hi)
	}
	return r, nil
}

// Release gives the ports back; a second call does nothing.
func (r *Reservation) Release() {
	mu.Lock()
	defer mu.Unlock()
	r.release()
}

func (r *Reservation) release() {
	r.once.Do(func() {
		for _, p := range r.Ports {
			delete(held, p)
			unlockPort(p)
		}
	})
}

func lockPort(p int) bool {
	lk := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: int64(p), Len: 1}
	return syscall.FcntlFlock(lockFile.Fd(), syscall.F_SETLK, &lk) == nil
}

func unlockPort(p int) {
	lk := syscall.Flock_t{Type: syscall.F_UNLCK, Whence: 0, Start: int64(p), Len: 1}
	_ = syscall.FcntlFlock(lockFile.Fd(), syscall.F_SETLK, &lk)
}

// candidateRange is the larger of the two stretches outside the kernel's
// ephemeral range: [minPort, low-1] or [high+1, 65535].
func candidateRange() (lo, hi int, err error) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, 0, fmt.Errorf("reserve loopback ports: read the ephemeral port range: %w", err)
	}
	return rangeOutside(string(b))
}

// rangeOutside parses ip_local_port_range ("32768\t60999\n") and returns
// the larger stretch of ports outside it, at least 1,000 ports long.
func rangeOutside(s string) (lo, hi int, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("reserve loopback ports: ip_local_port_range %q: want two numbers", s)
	}
	eLo, err1 := strconv.Atoi(f[0])
	eHi, err2 := strconv.Atoi(f[1])
	if err := errors.Join(err1, err2); err != nil || eLo > eHi {
		return 0, 0, fmt.Errorf("reserve loopback ports: ip_local_port_range %q: want two numbers, low first", s)
	}
	below, above := eLo-minPort, 65535-eHi
	switch {
	case below >= above && below >= 1000:
		return minPort, eLo - 1, nil
	case above >= 1000:
		return eHi + 1, 65535, nil
	}
	return 0, 0, fmt.Errorf("reserve loopback ports: the ephemeral range %d-%d leaves fewer than 1000 ports outside it above %d; narrow net.ipv4.ip_local_port_range", eLo, eHi, minPort)
}

package loopport

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestRangeOutside(t *testing.T) {
	for _, tt := range []struct {
		in     string
		lo, hi int
		err    string
	}{
		{"32768\t60999\n", 10000, 32767, ""},
		{"1024 65000", 0, 0, "fewer than 1000 ports"},
		{"10500 20000", 20001, 65535, ""},
		{"61000 65535", 10000, 60999, ""},
		{"", 0, 0, "want two numbers"},
		{"a b", 0, 0, "want two numbers"},
		{"40000 30000", 0, 0, "low first"},
	} {
		lo, hi, err := rangeOutside(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("rangeOutside(%q) = %d, %d, %v; want an error containing %q", tt.in, lo, hi, err, tt.err)
			}
			continue
		}
		if err != nil || lo != tt.lo || hi != tt.hi {
			t.Errorf("rangeOutside(%q) = %d, %d, %v; want %d, %d", tt.in, lo, hi, err, tt.lo, tt.hi)
		}
	}
}

// TestReserveHandsOutFreeDistinctPortsOutsideTheEphemeralRange: ports of
// two reservations differ, lie outside the kernel's ephemeral range, can
// be listened on, and come back after Release.
func TestReserveHandsOutFreeDistinctPortsOutsideTheEphemeralRange(t *testing.T) {
	lo, hi, err := candidateRange()
	if err != nil {
		t.Fatal(err)
	}
	a, err := Reserve(3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Reserve(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range append(append([]int{}, a.Ports...), b.Ports...) {
		if seen[p] {
			t.Errorf("port %d handed out twice: %v and %v", p, a.Ports, b.Ports)
		}
		seen[p] = true
		if p < lo || p > hi {
			t.Errorf("port %d outside %d-%d", p, lo, hi)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			t.Errorf("reserved port %d: %v", p, err)
			continue
		}
		l.Close()
	}
	a.Release()
	a.Release() // a second call does nothing
	b.Release()
	mu.Lock()
	defer mu.Unlock()
	if len(held) != 0 {
		t.Errorf("%d ports still held after Release: %v", len(held), held)
	}
}

// TestReservePassesOverAPortInUse: a port something listens on is never
// handed out, and is once nothing does.
func TestReservePassesOverAPortInUse(t *testing.T) {
	r, err := Reserve(1)
	if err != nil {
		t.Fatal(err)
	}
	p := r.Ports[0]
	r.Release()
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		t.Fatal(err)
	}
	if r, err := reserveIn(p, p, 1); err == nil || !strings.Contains(err.Error(), "only 0 of 1 free") {
		t.Errorf("reserve the port a listener holds: %v, %v; want an error", r, err)
	}
	l.Close()
	r, err = reserveIn(p, p, 1)
	if err != nil || len(r.Ports) != 1 || r.Ports[0] != p {
		t.Fatalf("reserve port %d once free: %v, %v", p, r, err)
	}
	if r2, err := reserveIn(p, p, 1); err == nil {
		t.Errorf("port %d reserved twice in one process: %v", p, r2.Ports)
	}
	r.Release()
}

// TestReservationHoldsAcrossProcesses: a port another process holds is
// refused here until that process releases it or ends.
func TestReservationHoldsAcrossProcesses(t *testing.T) {
	if os.Getenv("LOOPPORT_CHILD") == "1" {
		r, err := Reserve(1)
		if err != nil {
			os.Exit(2)
		}
		os.Stdout.WriteString(strconv.Itoa(r.Ports[0]) + "\n")
		_, _ = bufio.NewReader(os.Stdin).ReadString('\n') // hold until the parent closes stdin
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestReservationHoldsAcrossProcesses$")
	cmd.Env = append(os.Environ(), "LOOPPORT_CHILD=1")
	// Not testutil.StartChild (testutil imports this package): nothing in
	// this package ends a goroutine locked to its thread, the way a
	// System's spawner does, so the forking thread outlives the child.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited { // one Wait per Start
			stdin.Close()
			_ = cmd.Wait()
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("child: %v", err)
	}
	p, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("child printed %q", line)
	}
	if _, err := Reserve(0); err != nil { // opens the lock file
		t.Fatal(err)
	}
	mu.Lock()
	got := lockPort(p)
	if got {
		unlockPort(p)
	}
	mu.Unlock()
	if got {
		t.Fatalf("port %d: locked here while another process holds it", p)
	}
	stdin.Close()
	waited = true
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	mu.Lock()
	got = lockPort(p)
	if got {
		unlockPort(p)
	}
	mu.Unlock()
	if !got {
		t.Fatalf("port %d: still refused after the holding process ended", p)
	}
}

package health

import (
	"bytes"
	"fmt"
	"math/bits"
	"os"
	"strconv"
	"syscall"
)

// ProcStat is what one read of /proc/<pid>/stat says about a process.
type ProcStat struct {
	Alive  bool
	Zombie bool
	State  byte   // R, S, D, Z, T, ...
	CPU    uint64 // utime + stime, in clock ticks
	RSS    uint64 // resident set, in bytes
}

// clockTicks is the kernel's USER_HZ: 100 on every Linux architecture Go
// supports (sysconf(_SC_CLK_TCK) is fixed in the ABI).
const clockTicks = 100

// CPUSeconds converts ProcStat.CPU ticks to seconds.
func CPUSeconds(ticks uint64) float64 { return float64(ticks) / clockTicks }

// ReadProc reads /proc/<pid>/stat; a process that does not exist is
// ProcStat{Alive: false} with no error. It makes three system calls (open,
// read, close) into a buffer on the stack: the monitor calls it for every
// runner at every check.
func ReadProc(pid int) (ProcStat, error) {
	if pid <= 0 {
		return ProcStat{}, nil
	}
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		if err == syscall.ENOENT || err == syscall.ESRCH {
			return ProcStat{}, nil
		}
		return ProcStat{}, fmt.Errorf("open %s: %w", path, err)
	}
	defer syscall.Close(fd)
	var buf [1024]byte // a stat line is ~300 bytes; the command name is at most 64
	n, err := syscall.Read(fd, buf[:])
	for err == syscall.EINTR {
		n, err = syscall.Read(fd, buf[:])
	}
	if err != nil {
		if err == syscall.ESRCH {
			return ProcStat{}, nil // exited between open and read
		}
		return ProcStat{}, fmt.Errorf("read %s: %w", path, err)
	}
	return ParseStat(buf[:n])
}

// ParseStat parses the text of /proc/<pid>/stat (see proc(5)): the state
// after the command name, utime and stime (fields 14 and 15), rss (field 24,
// in pages of os.Getpagesize()).
func ParseStat(b []byte) (ProcStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return ProcStat{}, fmt.Errorf("/proc stat %.40q: no ') STATE' after the command name", b)
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); field n is f[n-3].
	if len(f) < 22 {
		return ProcStat{}, fmt.Errorf("/proc stat: %d fields after the command name, want at least 22", len(f))
	}
	num := func(n int) (uint64, error) {
		v, err := strconv.ParseUint(string(f[n-3]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc stat field %d %q: %w", n, f[n-3], err)
		}
		return v, nil
	}
	ut, err := num(14)
	if err != nil {
		return ProcStat{}, err
	}
	st, err := num(15)
	if err != nil {
		return ProcStat{}, err
	}
	cpu, carry := bits.Add64(ut, st, 0)
	if carry != 0 {
		// No kernel counts so far; wrapped, the sum read as a few ticks
		// and a CPU rate from it as nonsense (FuzzParseStat).
		return ProcStat{}, fmt.Errorf("/proc stat: utime %d + stime %d overflow 64 bits", ut, st)
	}
	rss, err := num(24)
	hi, rssBytes := bits.Mul64(rss, uint64(os.Getpagesize()))
	if err != nil || hi != 0 {
		// rss may be negative in odd kernels, or (never seen) more pages
		// than 64 bits of bytes, which wrapped: treat as unknown.
		rssBytes = 0
	}
	s := ProcStat{Alive: true, State: f[0][0], CPU: cpu, RSS: rssBytes}
	s.Zombie = s.State == 'Z' || s.State == 'X'
	return s, nil
}

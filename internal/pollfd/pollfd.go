//go:build unix

package pollfd

import (
	"os"

	"golang.org/x/sys/unix"
)

// Stdin returns a file reading what f reads, in non-blocking mode and
// registered with Go's poller, and a restore function to call when done
// with it (it closes the new file, which ends a read in progress, and puts
// f back in blocking mode). Only pipes are converted: for anything else
// (a terminal, a regular file, /dev/null) and on any error it returns f
// itself and a restore that does nothing.
//
// The non-blocking mode belongs to the pipe's open file description, which
// f shares with the new file: until restore, read f only through the new
// file (os.File's blocking-mode reads would see EAGAIN).
func Stdin(f *os.File) (*os.File, func()) {
	pf, restore, ok := nonblockingDup(f)
	if !ok {
		return f, func() {}
	}
	return pf, restore
}

// nonblockingDup returns a non-blocking duplicate of the pipe f, registered
// with Go's poller, and a restore function that closes it and puts f back in
// blocking mode; ok is false (and nothing changed) when f is not a pipe in
// blocking mode or cannot be converted.
func nonblockingDup(f *os.File) (pf *os.File, restore func(), ok bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, nil, false
	}
	var (
		dup         = -1
		wasNonblock bool
	)
	cerr := rc.Control(func(fd uintptr) {
		var st unix.Stat_t
		if unix.Fstat(int(fd), &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
			return
		}
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		nb := fl&unix.O_NONBLOCK != 0
		if err != nil || nb {
			return // already non-blocking: os.File goes through the poller if Go saw that
		}
		d, err := unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return
		}
		if err := unix.SetNonblock(d, true); err != nil {
			unix.Close(d)
			return
		}
		dup, wasNonblock = d, nb
	})
	if cerr != nil || dup < 0 {
		return nil, nil, false
	}
	// NewFile sees a non-blocking descriptor and registers it with the poller.
	pf = os.NewFile(uintptr(dup), f.Name())
	return pf, func() {
		pf.Close()
		if !wasNonblock {
			_ = rc.Control(func(fd uintptr) { _ = unix.SetNonblock(int(fd), false) })
		}
	}, true
}

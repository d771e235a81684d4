//go:build unix

package pollfd

import (
	"io"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func nonblocking(t *testing.T, f *os.File) bool {
	t.Helper()
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fl int
	var ferr error
	if err := rc.Control(func(fd uintptr) { fl, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil || ferr != nil {
		t.Fatalf("F_GETFL: %v %v", err, ferr)
	}
	return fl&unix.O_NONBLOCK != 0
}

func TestStdinPipe(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	_ = r.Fd() // as a child's inherited stdin: blocking mode
	if nonblocking(t, r) {
		t.Fatal("r is non-blocking after Fd()")
	}
	pf, restore := Stdin(r)
	if pf == r {
		t.Fatal("Stdin returned the pipe itself; want a pollable duplicate")
	}
	// Pollable: a read deadline works only on files in the poller.
	if err := pf.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Fatalf("SetReadDeadline on the converted pipe: %v", err)
	}
	if _, err := w.Write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2)
	if _, err := io.ReadFull(pf, buf); err != nil || string(buf) != "hi" {
		t.Fatalf("read %q, %v; want \"hi\"", buf, err)
	}
	done := make(chan error, 1) // never closed: one send
	go func() { _, err := pf.Read(buf); done <- err }()
	restore() // ends the read in progress and puts r back in blocking mode
	if err := <-done; err == nil {
		t.Fatal("read after restore returned no error; want the file closed")
	}
	if nonblocking(t, r) {
		t.Fatal("r still non-blocking after restore")
	}
}

func TestStdinNotAPipe(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pf, restore := Stdin(f)
	defer restore()
	if pf != f {
		t.Fatal("a regular file was converted; want it returned as is")
	}
}

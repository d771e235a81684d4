//go:build linux

package builtinrunner

import (
	"os/signal"
	"runtime"
	"syscall"
	"unsafe"
)

// dieBySignal makes the process die by sig, as a process the kernel signals
// does. Go's runtime keeps its own handler for SIGSEGV, SIGABRT, SIGBUS, ...
// (a SIGSEGV sent by kill makes it print a traceback and exit with code 2), and
// signal.Reset does not hand those back to the kernel, so the disposition is
// set to SIG_DFL with rt_sigaction before the signal is sent to this thread.
func dieBySignal(sig syscall.Signal) {
	signal.Reset(sig) // stop os/signal delivering it, e.g. SIGTERM to the CLI's context
	// No core file in the working directory: the signal is the point, not a dump.
	_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
	var act [4]uint64 // a kernel struct sigaction, all zero: SIG_DFL, no flags, empty mask
	_, _, _ = syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	runtime.LockOSThread()
	_ = syscall.Tgkill(syscall.Getpid(), syscall.Gettid(), sig)
	_ = syscall.Kill(syscall.Getpid(), sig)
}

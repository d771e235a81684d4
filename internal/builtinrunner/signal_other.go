//go:build unix && !linux

package builtinrunner

import (
	"os/signal"
	"syscall"
)

// dieBySignal sends sig to the process. Unlike on Linux, the Go runtime's own
// handlers stay in place, so SIGSEGV or SIGABRT end the process with exit
// code 2 and a traceback rather than by the signal.
func dieBySignal(sig syscall.Signal) {
	signal.Reset(sig)
	_ = syscall.Kill(syscall.Getpid(), sig)
}

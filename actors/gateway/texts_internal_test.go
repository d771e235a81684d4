package gateway

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

// TestStartRemoteErrorText: protoactor's panic on a taken address, or on
// one that is not this host's, becomes a one-line error naming the address
// and what to do, matching EADDRINUSE or EADDRNOTAVAIL.
func TestStartRemoteErrorText(t *testing.T) {
	err := startRemoteError(fmt.Errorf("failed to listen: %v", "listen tcp 127.0.0.1:7301: bind: address already in use"))
	want := "cannot listen on 127.0.0.1:7301: another process (another node?) listens there; pick another port or stop that process"
	if err.Error() != want || !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("error %q (EADDRINUSE %v), want %q", err, errors.Is(err, syscall.EADDRINUSE), want)
	}
	// An address no interface of this host has (TEST-NET-1, in the
	// trial's text): named, with the fix, matching EADDRNOTAVAIL.
	err = startRemoteError(fmt.Errorf("failed to listen: %v", "listen tcp 192.0.2.1:27150: bind: cannot assign requested address"))
	want = "cannot listen on 192.0.2.1:27150: 192.0.2.1 is not an address of this host (no interface has it); listen on one of this host's addresses, e.g. 127.0.0.1:27150 (loopback, the default host), or one that 'ip addr' lists"
	if err.Error() != want || !errors.Is(err, syscall.EADDRNOTAVAIL) {
		t.Errorf("error %q (EADDRNOTAVAIL %v), want %q", err, errors.Is(err, syscall.EADDRNOTAVAIL), want)
	}
	if err := startRemoteError("boom"); err.Error() != "cannot start the node's gRPC listener (protoactor remote): boom" {
		t.Errorf("other panic: %v", err)
	}
}

// TestLiveRunnersPlural: max_runners' refusal said "has 1 live runners".
func TestLiveRunnersPlural(t *testing.T) {
	if got := liveRunners(1); got != "1 live runner" {
		t.Errorf("liveRunners(1) = %q", got)
	}
	if got := liveRunners(3); got != "3 live runners" {
		t.Errorf("liveRunners(3) = %q", got)
	}
}

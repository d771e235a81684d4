package gateway

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
)

// TestStartRemoteErrorText: protoactor's panic on a taken address becomes a
// one-line error naming the address and what to do, matching EADDRINUSE.
func TestStartRemoteErrorText(t *testing.T) {
	err := startRemoteError(fmt.Errorf("failed to listen: %v", "listen tcp 127.0.0.1:7301: bind: address already in use"))
	want := "cannot listen on 127.0.0.1:7301: another process (another node?) listens there; pick another port or stop that process"
	if err.Error() != want || !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("error %q (EADDRINUSE %v), want %q", err, errors.Is(err, syscall.EADDRINUSE), want)
	}
	if err := startRemoteError("boom"); err.Error() != "start remote: boom" {
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

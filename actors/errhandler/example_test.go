package errhandler_test

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"time"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// A runner is killed twice, comes back, and stays up: its records are
// resolved and, after the stable period, its backoff starts over.
func Example() {
	clk := clock.NewFake(time.Date(2025, 9, 9, 12, 0, 0, 0, time.UTC))
	h, err := errhandler.New(errhandler.Config{
		Clock:   clk,
		Rand:    rand.NewPCG(1, 2), // repeatable jitter
		Backoff: errhandler.BackoffConfig{Base: time.Second, Max: 10 * time.Second, StablePeriod: time.Minute},
	})
	if err != nil {
		panic(err)
	}
	killed := errhandler.Failure{
		Kind: errhandler.KindSignal, Signal: syscall.SIGKILL, ExitCode: -1,
		Component: "runner", RunnerID: "llama-3f2a", Generation: 1,
	}
	for range 2 {
		rec := h.Handle(killed)
		fmt.Printf("%s\n  -> %v, attempt %d, in %v\n", rec.Message, rec.Decision, rec.Attempt, rec.Delay.Round(time.Millisecond))
		clk.Advance(rec.Delay)
		killed.Generation++
	}

	h.RunnerReady("llama-3f2a")
	for _, r := range h.Records() {
		fmt.Printf("record %d: %v\n", r.ID, r.Resolution)
	}
	clk.Advance(time.Minute)
	next, _ := h.NextDelay("llama-3f2a")
	fmt.Println("next delay after a stable minute:", next.Round(time.Millisecond))
	// Output:
	// runner llama-3f2a gen 1: process exited: signal=9 (killed); check the runner's stderr for why it died (logged with stream=stderr and its runner_id: the node's log on exo-actors node, RunnerFailure.StderrTail in Go)
	//   -> HIGH RETRY (rule sigkill), attempt 1, in 885ms
	// runner llama-3f2a gen 2: process exited: signal=9 (killed); check the runner's stderr for why it died (logged with stream=stderr and its runner_id: the node's log on exo-actors node, RunnerFailure.StderrTail in Go)
	//   -> HIGH RETRY (rule sigkill), attempt 2, in 1.616s
	// record 1: resolved
	// record 2: resolved
	// next delay after a stable minute: 892ms
}

// User rules come before the defaults: here an exit status of 3 means a
// corrupt model, which no restart fixes.
func ExampleHandler_Classify() {
	three := 3
	h, err := errhandler.New(errhandler.Config{Rules: []errhandler.Rule{{
		Name: "corrupt-model", Kind: errhandler.KindExitNonZero, ExitCode: &three,
		Severity: errhandler.Critical, Action: errhandler.Escalate,
	}}})
	if err != nil {
		panic(err)
	}
	fmt.Println(h.Classify(errhandler.Failure{Kind: errhandler.KindExitNonZero, ExitCode: 3}))
	fmt.Println(h.Classify(errhandler.Failure{Kind: errhandler.KindExitNonZero, ExitCode: 1}))
	fmt.Println(h.Classify(errhandler.Failure{Kind: errhandler.KindHang}))
	fmt.Println(h.Classify(errhandler.Failure{Kind: errhandler.KindWriteClosedPipe, ShuttingDown: true}))
	// Output:
	// CRITICAL ESCALATE (rule corrupt-model)
	// HIGH RETRY (rule exit-nonzero)
	// HIGH FORCE_CLEANUP then RETRY (rule hang)
	// LOW SKIP (rule shutting-down)
}

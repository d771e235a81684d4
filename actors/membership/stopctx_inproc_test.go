//go:build !race

package membership

// In-process cluster member: built without -race only (protoactor's
// Remote.Start writes grpc's global logger; see rejoin_etcd_inproc_test.go).

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/internal/testutil"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// TestStopHonoursCtxDuringACheck: Stop returns by its ctx's end even when
// an eviction check is in flight. The check asks every peer (1 s each for
// a peer that accepts and answers nothing) with a background context, and
// Stop waited for it after the member had left, past its ctx.
func TestStopHonoursCtxDuringACheck(t *testing.T) {
	port := testutil.ReservePorts(t, 1)[0]
	silent := testutil.AcceptAndHold(t)
	clk := clock.NewFake(time.Now())
	logger := logrus.New()
	logger.SetLevel(logrus.PanicLevel)
	host := actor.NewActorSystem(actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	defer host.Shutdown()
	m, err := Start(host, Config{Cluster: "stopctx", NodeName: "n", Host: "127.0.0.1", ManagePort: port,
		Peers: []string{fmt.Sprintf("127.0.0.1:%d", port), silent}, Clock: clk, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer wcancel()
	if err := clk.WaitForTimers(wctx, 1); err != nil {
		t.Fatal(err)
	}
	clk.Advance(m.Config().CheckInterval) // a check starts: its evidence takes 2 s (the silent peer)
	ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = m.Stop(ctx)
	took := time.Since(start)
	t.Logf("Stop took %s: %v", took.Round(time.Millisecond), err)
	if took > 1500*time.Millisecond {
		t.Errorf("Stop with a ctx of 1.2s returned after %s (err %v)", took.Round(time.Millisecond), err)
	}
	if err == nil { // it returned before its ctx ended: nothing may run
		m.wg.Wait()
	} else {
		m.Stop(context.Background()) // let what it left end before the leak check
	}
}

package actors_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
	"github.com/exo-actors/exo-actors/actors/errhandler"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
	"github.com/exo-actors/exo-actors/runtime/runner"
)

// firstLayerSlow is a runner whose first layer never loads: it reports
// Connecting and Connected (at "connected") or nothing (at "idle"), then
// waits for the end without a Loading report.
type firstLayerSlow struct{ at string }

func (h firstLayerSlow) Load(ctx context.Context, s *runner.Session) error {
	if h.at == "connected" {
		for _, st := range []exov1.RunnerStatusKind{
			exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTING,
			exov1.RunnerStatusKind_RUNNER_STATUS_KIND_CONNECTED,
		} {
			if err := s.SetStatus(st); err != nil {
				return err
			}
		}
	}
	<-ctx.Done()
	return ctx.Err()
}
func (firstLayerSlow) Run(context.Context, *runner.Task) error { return nil }

// TestLoadingStallWatchesTheFirstLayer: the loading-stall bound covers the
// first layer of a runner that reports no Loading(0/N), the way the docs'
// examples (and a Rust runner written from them) load: from Connected, or
// from the handshake for a runner that goes Idle → Loading. Before, the
// watch began at the first Loading report, so a first layer slower than
// the bound was never caught (trial: 2 s bound, 3 s layers, failed only at
// Loading(1/4)).
func TestLoadingStallWatchesTheFirstLayer(t *testing.T) {
	for _, c := range []struct{ at, want string }{
		{"connected", "loading stalled at Connected, before its first Loading report: no layer progress for "},
		{"idle", "loading stalled at Idle, before its first Loading report: no layer progress for "},
	} {
		t.Run(c.at, func(t *testing.T) {
			t.Parallel()
			n := startNode(t)
			id, err := n.SpawnRunner(ctxT(t), actors.RunnerSpec{Kind: "first-layer-slow", Command: helperBinary(t),
				Env: []string{"EXO_ACTORS_HELPER=first-layer-slow", "FIRST_LAYER_AT=" + c.at}})
			if err != nil {
				t.Fatal(err)
			}
			evs := n.rec.waitFor(t, 20*time.Second, "failure", failed(id))
			f := failures(evs, id)[0]
			if f.Kind != errhandler.KindLoadingStall || f.Source != actors.SourceLoading || !strings.Contains(f.Message, c.want) {
				t.Fatalf("failure = kind %s source %s %q; want kind %s source %s containing %q",
					f.Kind, f.Source, f.Message, errhandler.KindLoadingStall, actors.SourceLoading, c.want)
			}
		})
	}
}

// helperFlappingLayers is a runner (raw protocol) that reports Loading(1/4)
// and then heartbeats forever with layers_loaded 2, 1, 2, 1, …: no layer
// beyond the second ever comes.
func helperFlappingLayers() int {
	rr := newRawRunner()
	if !rr.handshake() {
		return 1
	}
	rr.send(loadFrame(loadingKind, 1, 4))
	tick := time.NewTicker(10 * time.Millisecond)
	for seq := uint64(1); ; seq++ {
		<-tick.C
		rr.send(&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: seq, LayersLoaded: uint32(1 + seq%2)}}})
	}
}

// TestFlappingLayersStall: heartbeat counters that go down and up again
// are no progress; the loading-stall bound holds (a review: each change
// restarted it, so 2, 1, 2, … kept a stuck runner loading forever).
func TestFlappingLayersStall(t *testing.T) {
	n := startNode(t)
	id := spawnHelper(t, n, "flapping", "flapping-layers", false)
	evs := n.rec.waitFor(t, 20*time.Second, "failure", failed(id))
	if f := failures(evs, id)[0]; f.Kind != errhandler.KindLoadingStall {
		t.Fatalf("failure = kind %s %q; want a loading stall", f.Kind, f.Message)
	}
}

package actors_test

import (
	"fmt"
	"os/exec"
	"sort"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors"
)

// languageRunners are the same runner in Go (the built-in one) and in Python
// (sdk/python/examples/text_generation.py on the exo_runner SDK), with no
// loading or token delays, so what is measured is the runner's own cost.
func languageRunners(b *testing.B) map[string]actors.RunnerSpec {
	flags := []string{"--layers", "8", "--layer-delay", "0s", "--warmup-delay", "0s", "--token-delay", "0s"}
	specs := map[string]actors.RunnerSpec{"go": {Kind: "go", Builtin: true, Args: flags}}
	if exec.Command(python, "-c", "import google.protobuf").Run() == nil {
		specs["python"] = actors.RunnerSpec{Kind: "python", Command: python,
			Args: append([]string{pythonTestdata("../examples/text_generation.py")}, flags...)}
	} else {
		b.Log("python: skipped, " + python + " with google.protobuf is missing")
	}
	return specs
}

// BenchmarkRunnerLanguage measures, for the Go and the Python runner under
// a node with the default timeouts: spawn → Ready (SpawnRunner until the
// Ready status event) and the tokens per second of one 10,000-token
// text_generation task (Submit until Wait returns Complete). It reports the
// median as a metric and logs min..max, since the machine is shared.
//
//	go test -run '^$' -bench RunnerLanguage -benchtime 10x ./actors/
func BenchmarkRunnerLanguage(b *testing.B) {
	for _, lang := range []string{"go", "python"} {
		spec, ok := languageRunners(b)[lang]
		if !ok {
			continue
		}
		b.Run(lang+"/spawn_to_ready", func(b *testing.B) {
			n := startNode(b, func(c *actors.NodeConfig) { c.Timeouts = actors.RunnerTimeouts{} })
			var ds []time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				id, err := n.SpawnRunner(ctxT(b), spec)
				if err != nil {
					b.Fatal(err)
				}
				n.rec.waitFor(b, 30*time.Second, "Ready", hasStatus(id, ready))
				ds = append(ds, time.Since(t0))
				b.StopTimer()
				if _, err := n.StopRunner(ctxT(b), id); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			report(b, "ms_to_ready", ds, func(d time.Duration) float64 { return float64(d) / 1e6 })
		})
		b.Run(lang+"/tokens_10000", func(b *testing.B) {
			n := startNode(b, func(c *actors.NodeConfig) { c.Timeouts = actors.RunnerTimeouts{} })
			id, err := n.SpawnRunner(ctxT(b), spec)
			if err != nil {
				b.Fatal(err)
			}
			n.rec.waitFor(b, 30*time.Second, "Ready", hasStatus(id, ready))
			const tokens = 10_000
			var ds []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				h, err := n.Submit(ctxT(b), id, textTask(fmt.Sprintf("bench-%d", i), tokens))
				if err != nil {
					b.Fatal(err)
				}
				o, err := h.Wait(ctxT(b))
				if err != nil || o.Chunks != tokens {
					b.Fatalf("task: %+v, %v", o, err)
				}
				ds = append(ds, time.Since(t0))
			}
			report(b, "tokens/s", ds, func(d time.Duration) float64 { return tokens / d.Seconds() })
		})
	}
}

// report logs min..max of f over ds and reports the median as metric.
func report(b *testing.B, metric string, ds []time.Duration, f func(time.Duration) float64) {
	vs := make([]float64, len(ds))
	for i, d := range ds {
		vs[i] = f(d)
	}
	sort.Float64s(vs)
	b.ReportMetric(vs[len(vs)/2], metric)
	b.Logf("%s over %d runs: min %.1f, median %.1f, max %.1f", metric, len(vs), vs[0], vs[len(vs)/2], vs[len(vs)-1])
}

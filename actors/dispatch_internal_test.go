package actors

import (
	"sync"
	"testing"
)

// TestWorkerPool: every scheduled function runs, on a pooled worker or a
// goroutine of its own, before close and after it; close ends the workers
// and waits for them (the package's goleak check would see one left).
func TestWorkerPool(t *testing.T) {
	p := newWorkerPool()
	var wg sync.WaitGroup
	ran := make(chan int, 100)
	for i := 0; i < 50; i++ {
		wg.Add(1)
		p.Schedule(func() { defer wg.Done(); ran <- i })
	}
	wg.Wait()
	p.mu.Lock()
	workers := p.workers
	p.mu.Unlock()
	if workers < 1 || workers > workerPoolSize {
		t.Errorf("%d workers, want 1..%d", workers, workerPoolSize)
	}
	p.close()
	p.close() // idempotent
	wg.Add(1)
	p.Schedule(func() { defer wg.Done(); ran <- -1 }) // after close: a goroutine of its own
	wg.Wait()
	if len(ran) != 51 {
		t.Errorf("%d functions ran, want 51", len(ran))
	}
	if p.Throughput() != dispatchThroughput {
		t.Errorf("throughput %d", p.Throughput())
	}
	var nilPool *workerPool
	nilPool.close()
}

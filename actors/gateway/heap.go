package gateway

import "runtime/metrics"

// heapSample is the runtime/metrics name of the live heap: bytes in heap
// objects, reachable or not yet swept. Reading it does not stop the world
// (runtime.ReadMemStats does), so a status call stays cheap.
const heapSample = "/memory/classes/heap/objects:bytes"

// heapBytes returns the process's heap object bytes (0 if the runtime does
// not offer the metric).
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: heapSample}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

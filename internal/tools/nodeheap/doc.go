// Command nodeheap is exo-actors with Go's profiling endpoints
// (net/http/pprof) on the address in EXO_PPROF_ADDR (loopback; off when
// unset): a debug build for measuring what a node holds over weeks of
// client sessions. The shipped binary has no such endpoint.
//
// Its test TestNodeHeapOverSessions, skipped unless EXO_NODEHEAP_SESSIONS
// is set, runs one node of this binary and that many client sessions, each
// a separate `exo-actors remote run` process, and at each checkpoint
// (EXO_NODEHEAP_POINTS, e.g. "1,30,200") takes the node's heap profile
// after a GC and prints its live heap, heap size, RSS and goroutines:
//
//	EXO_NODEHEAP_SESSIONS=200 EXO_NODEHEAP_POINTS=1,30,200 EXO_NODEHEAP_OUT=/tmp/nh \
//	  go test -count=1 -v -timeout 20m ./internal/tools/nodeheap/
//	go tool pprof -base /tmp/nh/heap-001.prof /tmp/nh/nodeheap /tmp/nh/heap-200.prof
//
// docs/operations.md, "Memory of a long-running node", has what it
// measured.
package main

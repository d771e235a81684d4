package remoteopt

import "github.com/asynkron/protoactor-go/remote"

// WriterQueueSlots is the first size, in messages, of the queue of each
// endpoint writer (one per peer address a Remote sends to: every client
// session of a node, every node a client or member talks to).
//
// protoactor's default, 1,000,000, is not a bound but a first size: the
// queue is a ring (internal/queue/goring) that doubles when full and never
// shrinks, so the default allocates 16 MB (1,000,000 × a 16-byte
// interface) per new peer before any message, and keeps it for the
// writer's life. A node served 15.3 MB per client session (2,595 MB
// allocated in 170 sessions, heap profiles of `exo-actors node`), and the
// last departed client's ring stayed live (protoactor's PIDSet keeps the
// last removed PID in its slice until the next spawn; docs/traps.md): the
// live heap rose from 16 to 33 MB after the first session, and RSS from
// 47 to 119 MB over 30 sessions (docs/operations.md, "Memory of a
// long-running node"). 1024 slots (16 KiB) hold a full batch (the writer
// sends up to 1000 messages at once); a burst beyond them grows the ring
// as before, by doubling.
const WriterQueueSlots = 1024

// WriterQueue is the remote option setting the endpoint writer's first
// queue size to WriterQueueSlots. Give it to remote.Configure with the
// other options (each With… option once).
func WriterQueue() remote.ConfigOption {
	return remote.WithEndpointWriterQueueSize(WriterQueueSlots)
}

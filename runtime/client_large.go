package runtime

import (
	"context"
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
)

// A node's answers to calls do not pass its window of task events and
// deliveries, and protoactor's endpoint writer sends whatever has queued
// for one address as one gRPC message: two large answers queued together
// (two status documents of a few MiB each) go out as one message above the
// transport's limit, and the connection breaks for every Client of this
// process with that node. The node fits each answer to what leaves room
// for a full window beside it (actors/gateway, outBounds.reply); the
// process asks for one large answer of a node at a time. Every Client of
// one process shares one connection per node (one protoactor Remote per
// process), so the bound is the process's, not a Client's.
//
// largeCalls holds a slot per node address that a call of this process
// waits for or holds: an entry lives while someone uses it, so the map is
// bounded by the callers in flight, never by the addresses ever dialled.
// (Before, 64 slots by address hash: two nodes sharing one took turns,
// and a frozen node's call held up a healthy one's: a review.)
var largeCalls = struct {
	mu    sync.Mutex
	slots map[string]*largeSlot
}{slots: map[string]*largeSlot{}}

type largeSlot struct {
	held  chan struct{} // capacity 1: the call that holds the slot put a token in it
	users int           // callers waiting for or holding it; the entry goes at 0
}

// largeSlotOf returns addr's slot, counting the caller among its users;
// the caller gives it back with leaveLargeSlot.
func largeSlotOf(addr string) *largeSlot {
	largeCalls.mu.Lock()
	defer largeCalls.mu.Unlock()
	s := largeCalls.slots[addr]
	if s == nil {
		s = &largeSlot{held: make(chan struct{}, 1)}
		largeCalls.slots[addr] = s
	}
	s.users++
	return s
}

func leaveLargeSlot(addr string, s *largeSlot) {
	largeCalls.mu.Lock()
	defer largeCalls.mu.Unlock()
	if s.users--; s.users == 0 {
		delete(largeCalls.slots, addr)
	}
}

// callLarge is call for a request whose answer may be large (a runner
// list, the status document): it waits for its node's slot first, within
// ctx (or the call timeout) and the client's life.
func (c *Client) callLarge(ctx context.Context, msg proto.Message) (proto.Message, error) {
	if ctx.Err() != nil {
		return c.call(ctx, msg) // says nothing was sent
	}
	ctx, cancel := c.withCallTimeout(ctx)
	defer cancel()
	slot := largeSlotOf(c.addr)
	defer leaveLargeSlot(c.addr, slot)
	select {
	case slot.held <- struct{}{}:
	case <-c.ended:
		return nil, c.Err()
	case <-ctx.Done():
		return nil, fmt.Errorf("node %s (%s): waited for this process's other call of a large answer (a runner list or the status document) until the context ended: %w",
			c.NodeName(), c.addr, ctx.Err())
	}
	defer func() { <-slot.held }()
	return c.call(ctx, msg)
}

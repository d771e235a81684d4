package runtime

import (
	"context"
	"fmt"
	"hash/fnv"

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
// largeCalls holds one slot per address hash: a bounded array, never a map
// that grows with the addresses dialled; two nodes whose addresses share
// a slot only take turns.
var largeCalls = func() (out [64]chan struct{}) {
	for i := range out {
		out[i] = make(chan struct{}, 1)
	}
	return out
}()

// callLarge is call for a request whose answer may be large (a runner
// list, the status document): it waits for its node's slot first, within
// ctx (or the call timeout) and the client's life.
func (c *Client) callLarge(ctx context.Context, msg proto.Message) (proto.Message, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.opts.callTimeout)
		defer cancel()
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(c.addr))
	slot := largeCalls[h.Sum32()%uint32(len(largeCalls))]
	select {
	case slot <- struct{}{}:
	case <-c.ended:
		return nil, c.Err()
	case <-ctx.Done():
		return nil, fmt.Errorf("node %s (%s): waited for this process's other call of a large answer (a runner list or the status document) until the context ended: %w",
			c.NodeName(), c.addr, ctx.Err())
	}
	defer func() { <-slot }()
	return c.call(ctx, msg)
}

package runtime

import (
	"context"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors/gateway"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// sendBudget bounds the bytes of the requests a Client has sent and not
// yet had answered. protoactor remote's endpoint writer sends whatever is
// queued for an address in one gRPC message (up to 1000 envelopes), and a
// gRPC message above the transport's limit (2 × max_message + 1 MiB,
// actors/gateway/transport.go) breaks the connection: four concurrent
// Submits of 3 MiB each, every one within the 4 MiB limit, went out as
// one 12 MiB batch, and the client lost the node
// (TestRemoteConcurrentLargeSubmits). With at most 2 × max_message bytes
// of requests in flight, a batch stays under the limit. Waiters are
// served in arrival order (a large request is not starved by small ones);
// each is a caller blocked in Submit, so the queue is bounded by the
// callers (and maxPending).
type sendBudget struct {
	mu      sync.Mutex
	size    int
	used    int
	waiters []*budgetWaiter // first come, first served
}

type budgetWaiter struct {
	n     int
	ready chan struct{} // capacity 1, never closed: grantLocked sends once
}

func newSendBudget(size int) *sendBudget { return &sendBudget{size: size} }

// acquire takes n bytes of the budget (at most its size), waiting in line
// until they are free, ctx ends or done is closed (then it returns errDone).
func (b *sendBudget) acquire(ctx context.Context, done <-chan struct{}, n int, errDone func() error) (int, error) {
	if b == nil { // a Client made without Dial (tests)
		return 0, nil
	}
	b.mu.Lock()
	n = min(n, b.size)
	if len(b.waiters) == 0 && b.used+n <= b.size {
		b.used += n
		b.mu.Unlock()
		return n, nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{}, 1)}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	var err error
	select {
	case <-w.ready:
		return n, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-done:
		err = errDone()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	select {
	case <-w.ready: // granted meanwhile: give it back
		b.used -= n
	default:
		for i, x := range b.waiters {
			if x == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
	}
	b.grantLocked()
	return 0, err
}

// release gives back n bytes taken by acquire.
func (b *sendBudget) release(n int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.grantLocked()
}

// grantLocked serves the waiters in order while the next one fits.
func (b *sendBudget) grantLocked() {
	for len(b.waiters) > 0 && b.used+b.waiters[0].n <= b.size {
		w := b.waiters[0]
		b.waiters = b.waiters[1:]
		b.used += w.n
		w.ready <- struct{}{} // capacity 1, sent once
	}
}

// requestSlack is what a request may carry beyond max_message: a task's
// payload and params count against max_message on the node, its IDs, kind
// and framing do not. The budgeted requests in flight take at most the
// budget, 2 × max_message, together (each is at most max_message + 64 KiB,
// within it), and with them at most 998 small ones of 1 KiB: within the
// transport's 2 × max_message + 1 MiB. The budget is a Client's: two
// Clients of one process with one node share its connection
// (docs/remote.md, "Several Clients of one process").
// The node refuses a larger request the same way (gateway.RequestSlack).
const requestSlack = gateway.RequestSlack

// smallRequest is the size up to which a request goes without the send
// budget: 1000 of them (protoactor's largest batch) stay within the 1 MiB
// the transport's limit holds beyond 2 × max_message.
const smallRequest = 1 << 10

// requestName names a request as the method that sends it ("StopRunner"
// for GwStopRunner).
func requestName(msg proto.Message) string {
	return "the " + strings.TrimPrefix(string(msg.ProtoReflect().Descriptor().Name()), "Gw") + " request"
}

// tooLargeHint says what to do about a request above the message limit.
func tooLargeHint(msg proto.Message) string {
	if _, ok := msg.(*exov1.GwSubmit); ok {
		return "make the task's payload, params or IDs smaller, or raise max_message on the node and on the client (WithMaxMessage)"
	}
	return "no runner ID, task ID, topic or filter is that long: check what was passed"
}

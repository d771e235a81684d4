package runtime

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestLargeAnswersOneAtATimePerNode: two Clients of one process with one
// node (they share its connection) ask for one large answer at a time: a
// runner list in flight keeps the other Client's status document from
// being asked for, until the list came. Two large answers queued together
// went out in one gRPC message above the transport's limit, breaking the
// connection for both.
func TestLargeAnswersOneAtATimePerNode(t *testing.T) {
	c1, c2, sent2, list, listed := listInFlight(t, "127.0.0.1:28401", "127.0.0.1:28401")

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := c2.StatusJSON(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "other call of a large answer") {
		t.Fatalf("status while a list is in flight: %v; want it to wait for the list, then the context's end", err)
	}
	select {
	case m := <-sent2:
		t.Fatalf("the second client sent %T while the first's list was in flight", m)
	default:
	}

	c1.reply(&exov1.GwRunnerList{CallId: list.GetCallId()})
	if err := <-listed; err != nil {
		t.Fatalf("list: %v", err)
	}
	got := make(chan error, 1)
	go func() { // owner: the test, which reads got
		_, err := c2.StatusJSON(context.Background())
		got <- err
	}()
	doc := (<-sent2).(proto.Message).(*exov1.GwStatusDoc)
	c2.reply(&exov1.GwStatusDocReply{CallId: doc.GetCallId(), Json: []byte("{}")})
	if err := <-got; err != nil {
		t.Fatalf("status after the list: %v", err)
	}
}

// TestLargeAnswerSlotsAreByAddressAndGoWhenIdle: a large answer in flight
// from one node does not hold up another node's (before, addresses that
// hashed alike shared a slot), and a slot nobody uses is forgotten.
func TestLargeAnswerSlotsAreByAddressAndGoWhenIdle(t *testing.T) {
	c1, c2, sent2, list, listed := listInFlight(t, "127.0.0.1:28402", "127.0.0.1:28403")
	got := make(chan error, 1)
	go func() { // owner: the test, which reads got
		_, err := c2.StatusJSON(context.Background())
		got <- err
	}()
	doc := (<-sent2).(*exov1.GwStatusDoc) // asked at once: another node's slot
	c2.reply(&exov1.GwStatusDocReply{CallId: doc.GetCallId(), Json: []byte("{}")})
	c1.reply(&exov1.GwRunnerList{CallId: list.GetCallId()})
	if err := errors.Join(<-got, <-listed); err != nil {
		t.Fatal(err)
	}
	largeCalls.mu.Lock()
	_, kept1 := largeCalls.slots[c1.addr]
	_, kept2 := largeCalls.slots[c2.addr]
	largeCalls.mu.Unlock()
	if kept1 || kept2 {
		t.Fatalf("slots kept after their calls ended (%v, %v); want none", kept1, kept2)
	}
}

// listInFlight makes two Clients of nodes at addr1 and addr2 (the same
// node when equal) that answer nothing by themselves, and starts a runner
// list on the first: it returns once the list was asked for, with what the
// second sends, the list's request and where its end arrives.
func listInFlight(t *testing.T, addr1, addr2 string) (c1, c2 *Client, sent2 chan proto.Message, list *exov1.GwListRunners, listed chan error) {
	c1, sent1 := hostileClient(t)
	c2, sent2 = hostileClient(t)
	c1.addr, c2.addr = addr1, addr2
	c1.opts.callTimeout, c2.opts.callTimeout = time.Minute, time.Minute
	listed = make(chan error, 1)
	go func() { // owner: the test, which reads listed
		_, err := c1.Runners(context.Background())
		listed <- err
	}()
	return c1, c2, sent2, (<-sent1).(*exov1.GwListRunners), listed
}

package gateway

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/internal/httpapi"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestReplyBoundLeavesRoomForTheWindow: an answer of bounds.reply bytes
// fits one gRPC batch beside the worst the window lets be in flight and
// outSlack, for every size of transport and frame: a full window, or a
// quarter of it and then one message as large as a session may send
// (maxOut), or as a runner's frame makes (its chunk and envelope). With
// the defaults, the review's case: 1 MiB in flight, a 4 MiB chunk, and the
// answer (before: 4.9 MiB, past the 9 MiB transport).
func TestReplyBoundLeavesRoomForTheWindow(t *testing.T) {
	for _, frameMax := range []int{64 << 10, 4 << 20, 64 << 20} {
		for _, maxMessage := range []int{64 << 10, 1 << 20, DefaultMaxMessage, 64 << 20} {
			for _, clientMax := range []int{0, GRPCLimit(64 << 10), GRPCLimit(maxMessage)} {
				limit := GRPCLimit(maxMessage)
				w := windowWithin(DefaultOutWindow, limit, clientMax)
				b := boundsFor(w, limit, clientMax, frameMax)
				chunk := min(b.maxOut, frameMax+1024) // a chunk of a full frame, with its envelope
				for _, inFlight := range []int{w, w/4 + chunk, w/4 + MaxOutMessage} {
					if b.reply < outSlack || b.reply > b.maxOut || inFlight+b.reply+outSlack > b.limit {
						t.Fatalf("frames %d, max_message %d, client %d: reply %d beside %d in flight (window %d, maxOut %d), limit %d; want outSlack <= reply <= maxOut, all within the limit",
							frameMax, maxMessage, clientMax, b.reply, inFlight, w, b.maxOut, b.limit)
					}
				}
			}
		}
	}
	b := boundsFor(DefaultOutWindow, GRPCLimit(DefaultMaxMessage), 0, 4<<20)
	if worst := DefaultOutWindow/4 + 4<<20 + b.reply + outSlack; worst > b.limit {
		t.Fatalf("defaults: 1 MiB in flight, a 4 MiB chunk, a %d-byte answer: %d bytes, past the %d-byte limit", b.reply, worst, b.limit)
	}
}

// bigStatus is a status document of n failed runners with long texts.
func bigStatus(n int) *httpapi.StatusDoc {
	shared := []health.Recovery{{Reason: strings.Repeat("why ", 2000)}}
	doc := &httpapi.StatusDoc{Schema: httpapi.Schema, Tree: &httpapi.TreeNode{Name: "node"}}
	for range n {
		doc.Runners = append(doc.Runners, httpapi.RunnerStatus{ID: "echo-0123456789ab", Status: "failed: " + strings.Repeat("<s>", 3000),
			Reason: strings.Repeat("r", 4096), Recoveries: shared,
			Errors: []httpapi.ErrorRecord{{Message: strings.Repeat("m", 16<<10), Note: strings.Repeat("n", 4096)}}})
		doc.Tree.Children = append(doc.Tree.Children, &httpapi.TreeNode{Name: "runner-x", State: strings.Repeat("s", 9000)})
	}
	return doc
}

// TestStatusJSONFitsTheReply: a status document above the answer's bound
// has its texts cut (what it shares with the node left as it was); still
// above it, it is refused with ErrMessageTooLarge naming the sizes; below
// it, it goes whole, "<" as one byte. Before, a 10.8 MB document broke a
// 9.4 MB transport, and every task of the client ended as node lost.
func TestStatusJSONFitsTheReply(t *testing.T) {
	small := bigStatus(2)
	b, err := statusJSON(small, 1<<20)
	if err != nil || !strings.Contains(string(b), strings.Repeat("<s>", 3000)) {
		t.Fatalf("a small document: %v (%d bytes); want it whole, unescaped", err, len(b))
	}
	doc := bigStatus(100) // about 4.3 MB
	shared := doc.Runners[0].Recoveries
	b, err = statusJSON(doc, 1<<20)
	if err != nil || len(b)+replyOverhead > 1<<20 {
		t.Fatalf("cut: %v, %d bytes; want within 1 MiB", err, len(b))
	}
	var back httpapi.StatusDoc
	if err := json.Unmarshal(b, &back); err != nil || len(back.Runners) != 100 || len(back.Runners[0].Errors[0].Message) > listErrorMax {
		t.Fatalf("cut document: %v, %d runners; want 100, texts cut", err, len(back.Runners))
	}
	if len(shared[0].Reason) != 8000 {
		t.Fatalf("the node's own recovery was cut to %d bytes", len(shared[0].Reason))
	}
	_, err = statusJSON(bigStatus(5000), 1<<20)
	if !errors.Is(err, ErrMessageTooLarge) || !strings.Contains(err.Error(), "5000 runners") || !strings.Contains(err.Error(), "max_message") {
		t.Fatalf("too large even cut: %v; want ErrMessageTooLarge naming the runners and max_message", err)
	}
}

// TestFitShutdownReport: a shutdown report's answer above the bound has
// its notes, errors and text cut; still above it, it is refused.
func TestFitShutdownReport(t *testing.T) {
	report := func(n int) *exov1.GwShutdownReport {
		root := &exov1.GwActorReport{Name: "node"}
		for range n {
			root.Children = append(root.Children, &exov1.GwActorReport{Name: "runner-x",
				Phases: []*exov1.GwPhaseReport{{Note: strings.Repeat("n", 8000), Children: []*exov1.GwPhaseReport{{Note: strings.Repeat("c", 8000)}}}}})
		}
		return &exov1.GwShutdownReport{CallId: 1, Report: strings.Repeat("t", 200_000),
			Node: &exov1.GwNodeShutdownReport{Root: root, Errors: []string{strings.Repeat("e", 100_000)}}}
	}
	small := report(1)
	if err := fitShutdownReport(small, small.Node, &small.Report, 1<<20); err != nil || len(small.Report) != 200_000 {
		t.Fatalf("small: %v; want it whole", err)
	}
	big := report(200) // about 3.5 MB
	if err := fitShutdownReport(big, big.Node, &big.Report, 256<<10); err != nil || proto.Size(big) > 256<<10 {
		t.Fatalf("cut: %v, %d bytes; want within 256 KiB", err, proto.Size(big))
	}
	// Too large even cut: the tree below the node's phases goes, the
	// node's phases and the text (saying so) stay. An error would read as
	// a failed shutdown (a review).
	huge := report(20000)
	huge.Node.Root.Phases = []*exov1.GwPhaseReport{{Outcome: "ok"}}
	if err := fitShutdownReport(huge, huge.Node, &huge.Report, 256<<10); err != nil || proto.Size(huge) > 256<<10 ||
		len(huge.Node.Root.Children) != 0 || len(huge.Node.Root.Phases) != 1 || !strings.Contains(huge.Report, "the node's log has it whole") {
		t.Fatalf("too large even cut: %v, %d bytes, %d children; want it to fit without the tree, saying so", err, proto.Size(huge), len(huge.Node.Root.Children))
	}
}

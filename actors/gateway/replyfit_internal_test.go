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

// TestReplyBoundLeavesRoomForTheWindow: an answer of bounds.reply bytes,
// a full window of task events beside it and outSlack fit the transport's
// limit in one gRPC batch, for every size of transport a node allows.
func TestReplyBoundLeavesRoomForTheWindow(t *testing.T) {
	for _, maxMessage := range []int{64 << 10, 1 << 20, DefaultMaxMessage, 64 << 20} {
		for _, clientMax := range []int{0, GRPCLimit(64 << 10), GRPCLimit(maxMessage)} {
			limit := GRPCLimit(maxMessage)
			w := windowWithin(DefaultOutWindow, limit, clientMax)
			b := boundsFor(w, limit, clientMax)
			if b.reply <= 0 || b.reply > b.maxOut || b.reply+w+outSlack > b.limit {
				t.Fatalf("max_message %d, client %d: reply %d, window %d, maxOut %d, limit %d; want 0 < reply <= maxOut and reply+window+slack <= limit",
					maxMessage, clientMax, b.reply, w, b.maxOut, b.limit)
			}
		}
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
	huge := report(20000)
	if err := fitShutdownReport(huge, huge.Node, &huge.Report, 256<<10); !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("too large even cut: %v; want ErrMessageTooLarge", err)
	}
}

package gateway

import (
	"bytes"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/exo-actors/exo-actors/actors/health"
	"github.com/exo-actors/exo-actors/internal/httpapi"
	"github.com/exo-actors/exo-actors/internal/protocol"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Answers to calls do not pass a session's window, and one larger than
// what the client's transport takes in one gRPC message breaks the
// connection: every task and subscription of the client's process then
// ends as node lost (a review's trial: a /status document of 10.8 MB for
// a 9.4 MB limit). So each large answer is fitted to outBounds.reply
// before it goes: its long texts are cut to listErrorMax bytes, and an
// answer still too large is refused with ErrMessageTooLarge, naming the
// sizes, while the connection and everything on it go on.

// capListText cuts a text of a large answer to listErrorMax bytes, in
// place (fitRunnerList, statusJSON, fitShutdownReport).
func capListText(s *string) { *s = protocol.Cap(*s, listErrorMax) }

// replyOverhead is what a reply's envelope adds to its document (call_id,
// field tags and lengths).
const replyOverhead = 32

// statusJSON returns doc as JSON within maxOut bytes (a GwStatusDocReply
// with it fits maxOut). Past maxOut, the runners' status texts, health
// reasons, error records' messages and notes, recoveries' reasons and the
// tree's state texts are cut to listErrorMax bytes each; still past it,
// it fails, naming the sizes. doc is the caller's own (BuildStatus makes
// a new one per call), and what it shares with the node (recoveries) is
// copied before it is cut.
func statusJSON(doc *httpapi.StatusDoc, maxOut int) ([]byte, error) {
	b, err := marshalJSON(doc)
	if err != nil || len(b)+replyOverhead <= maxOut {
		return b, err
	}
	size := len(b)
	capListText(&doc.Node.HealthError)
	for i := range doc.Runners {
		r := &doc.Runners[i]
		capListText(&r.Status)
		capListText(&r.Reason)
		errs := make([]httpapi.ErrorRecord, len(r.Errors))
		copy(errs, r.Errors)
		for j := range errs {
			capListText(&errs[j].Message)
			capListText(&errs[j].Note)
		}
		r.Errors = errs
		recs := make([]health.Recovery, len(r.Recoveries))
		copy(recs, r.Recoveries)
		for j := range recs {
			capListText(&recs[j].Reason)
		}
		r.Recoveries = recs
		if r.Recovering != nil {
			rc := *r.Recovering
			capListText(&rc.Reason)
			r.Recovering = &rc
		}
	}
	var walk func(n *httpapi.TreeNode)
	walk = func(n *httpapi.TreeNode) {
		if n == nil {
			return
		}
		capListText(&n.State)
		for _, c := range n.Children {
			walk(c)
		}
	}
	walk(doc.Tree)
	if b, err = marshalJSON(doc); err != nil {
		return nil, err
	}
	if len(b)+replyOverhead > maxOut {
		return nil, fmt.Errorf("%w: the status document of %d runners takes %d bytes (%d with each runner's texts cut to %d bytes), more than this client's transport takes in one answer (%d); raise max_message on the node and on the client, or lower retention.keep_removed",
			ErrMessageTooLarge, len(doc.Runners), size, len(b), listErrorMax, maxOut)
	}
	return b, nil
}

// marshalJSON is json.Marshal without the HTML escapes (a runner's "<"
// would take 6 bytes, and nothing here is embedded in HTML), and without
// the encoder's trailing newline.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// fitShutdownReport keeps a shutdown report's answer (GwShutdownReport or
// GwShutdownPhaseReport, whose report is rep) within maxOut bytes: past
// it, each phase report's note and each of the report's errors is cut to
// listErrorMax bytes, then the report as text (text, when not nil; the
// structured report holds the same) to what is left, then the tree below
// the node's own phases goes (the text says so); still past it, it fails,
// naming the sizes.
func fitShutdownReport(msg proto.Message, rep *exov1.GwNodeShutdownReport, text *string, maxOut int) error {
	size := proto.Size(msg)
	if size <= maxOut {
		return nil
	}
	for i := range rep.GetErrors() {
		capListText(&rep.Errors[i])
	}
	var phases func(p *exov1.GwPhaseReport)
	phases = func(p *exov1.GwPhaseReport) {
		capListText(&p.Note)
		for _, c := range p.GetChildren() {
			phases(c)
		}
	}
	var actorsOf func(a *exov1.GwActorReport)
	actorsOf = func(a *exov1.GwActorReport) {
		if a == nil {
			return
		}
		for _, p := range a.GetPhases() {
			phases(p)
		}
		for _, c := range a.GetChildren() {
			actorsOf(c)
		}
	}
	actorsOf(rep.GetRoot())
	if over := proto.Size(msg) - maxOut; over > 0 && text != nil {
		*text = protocol.Cap(*text, max(len(*text)-over-64, listErrorMax))
	}
	if root := rep.GetRoot(); proto.Size(msg) > maxOut && root != nil && len(root.Children) > 0 {
		// The node shut down (or ran the phase) all the same: an error
		// here would read as a failed shutdown, and a cluster's shutdown
		// would record it so (a review). The node's own phases stay; the
		// tree below it is in the node's log.
		root.Children = nil
		if text != nil {
			*text = protocol.Cap(*text, listErrorMax) + " (the report's tree did not fit this client's transport: the node's log has it whole)"
		}
	}
	if after := proto.Size(msg); after > maxOut {
		return fmt.Errorf("%w: the shutdown report takes %d bytes (%d with its notes and text cut), more than this client's transport takes in one answer (%d); raise max_message on the node and on the client, or read the report in the node's log",
			ErrMessageTooLarge, size, after, maxOut)
	}
	return nil
}

package gateway

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// TestFitRunnerList: a runner list above the largest message the client's
// transport takes has its last errors cut; still above it, it is refused
// with the sizes, never sent (a message above the transport's limit
// breaks the connection for every session of the client's process).
func TestFitRunnerList(t *testing.T) {
	list := func(n int) *exov1.GwRunnerList {
		out := &exov1.GwRunnerList{CallId: 1}
		for range n {
			// A failed runner: its texts in the last error, the Failed
			// status (diagnostics with stderr lines) and the last record.
			out.Runners = append(out.Runners, &exov1.GwRunnerInfo{Id: "echo-0123456789ab", Kind: "echo", LastError: strings.Repeat("e", 4096),
				Status:     &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED, ErrorMessage: strings.Repeat("m", 4096), Diagnostics: strings.Repeat("d", 100_000)},
				LastRecord: &exov1.GwErrorRecord{Message: strings.Repeat("r", 4096), Causes: []string{strings.Repeat("c", 4096)}},
				LastFailure: &exov1.GwRunnerFailure{Failure: &exov1.GwFailure{Message: strings.Repeat("f", 4096), Cause: strings.Repeat("c", 4096)},
					RunnerMessage: strings.Repeat("m", 16<<10), RunnerDiagnostics: strings.Repeat("d", 16<<10), Termination: strings.Repeat("t", 4096),
					StderrTail: slices.Repeat([]string{strings.Repeat("s", 4096)}, 20)}})
		}
		return out
	}
	small := list(2)
	if err := fitRunnerList(small, 1<<20); err != nil || len(small.Runners[0].LastError) != 4096 || small.Runners[0].LastFailure == nil {
		t.Errorf("a list that fits: %v, last error %d bytes", err, len(small.Runners[0].LastError))
	}
	cut := list(30) // ~7 MB, ~45 KB cut (the last failure left out)
	if err := fitRunnerList(cut, 64<<10); err != nil || proto.Size(cut) > 64<<10 || len(cut.Runners[0].LastError) > listErrorMax ||
		len(cut.Runners[0].Status.Diagnostics) > listErrorMax || len(cut.Runners[0].LastRecord.Causes[0]) > listErrorMax ||
		cut.Runners[0].LastFailure != nil {
		t.Errorf("a list that fits once cut: %v, %d bytes, last error %d bytes, diagnostics %d", err, proto.Size(cut), len(cut.Runners[0].LastError), len(cut.Runners[0].Status.Diagnostics))
	}
	err := fitRunnerList(list(1000), 64<<10)
	if !errors.Is(err, ErrMessageTooLarge) || !strings.Contains(err.Error(), "the list of 1000 runners takes") {
		t.Errorf("a list too large even cut: %v", err)
	}
}

// TestFitRunnerListCutsCopies: what fitRunnerList cuts is the list's own
// copy: the status and the error record a runner's entry points to may be
// the node's (a review: the error handler's stored causes were cut for
// good, from the gateway's goroutine).
func TestFitRunnerListCutsCopies(t *testing.T) {
	causes := []string{strings.Repeat("c", 4096)}
	st := &exov1.RunnerStatus{Kind: exov1.RunnerStatusKind_RUNNER_STATUS_KIND_FAILED, Diagnostics: strings.Repeat("d", 100_000)}
	rec := &exov1.GwErrorRecord{Message: strings.Repeat("r", 4096), Causes: causes}
	out := &exov1.GwRunnerList{}
	for range 30 {
		out.Runners = append(out.Runners, &exov1.GwRunnerInfo{Id: "echo-0123456789ab", Status: st, LastRecord: rec})
	}
	if err := fitRunnerList(out, 64<<10); err != nil {
		t.Fatal(err)
	}
	if len(causes[0]) != 4096 || len(st.Diagnostics) != 100_000 || len(rec.Message) != 4096 {
		t.Errorf("the originals were cut: cause %d, diagnostics %d, message %d bytes", len(causes[0]), len(st.Diagnostics), len(rec.Message))
	}
	if d := out.Runners[0].GetStatus().GetDiagnostics(); len(d) > listErrorMax {
		t.Errorf("the list's copy was not cut: %d bytes", len(d))
	}
}

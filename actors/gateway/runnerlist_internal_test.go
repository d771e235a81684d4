package gateway

import (
	"errors"
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
				LastRecord: &exov1.GwErrorRecord{Message: strings.Repeat("r", 4096), Causes: []string{strings.Repeat("c", 4096)}}})
		}
		return out
	}
	small := list(2)
	if err := fitRunnerList(small, 1<<20); err != nil || len(small.Runners[0].LastError) != 4096 {
		t.Errorf("a list that fits: %v, last error %d bytes", err, len(small.Runners[0].LastError))
	}
	cut := list(30) // ~3.5 MB, ~45 KB cut
	if err := fitRunnerList(cut, 64<<10); err != nil || proto.Size(cut) > 64<<10 || len(cut.Runners[0].LastError) > listErrorMax ||
		len(cut.Runners[0].Status.Diagnostics) > listErrorMax || len(cut.Runners[0].LastRecord.Causes[0]) > listErrorMax {
		t.Errorf("a list that fits once cut: %v, %d bytes, last error %d bytes, diagnostics %d", err, proto.Size(cut), len(cut.Runners[0].LastError), len(cut.Runners[0].Status.Diagnostics))
	}
	err := fitRunnerList(list(1000), 64<<10)
	if !errors.Is(err, ErrMessageTooLarge) || !strings.Contains(err.Error(), "the list of 1000 runners takes") {
		t.Errorf("a list too large even cut: %v", err)
	}
}

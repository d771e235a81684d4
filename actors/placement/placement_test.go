package placement

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPlace(t *testing.T) {
	c := func(node string, runners int, kinds ...string) Candidate {
		return Candidate{Member: "id-" + node, Node: node, Runners: runners, Kinds: kinds}
	}
	health := func(x Candidate, h float64) Candidate { x.Health, x.HealthKnown = h, true; return x }
	capped := func(x Candidate, n int) Candidate { x.Capacity = n; return x }
	tests := []struct {
		name    string
		kind    string
		members []Candidate
		want    string // node chosen
		wantErr error
		errText string
	}{
		{name: "only member with the kind", kind: "llm",
			members: []Candidate{c("a", 0, "embed"), c("b", 5, "llm")}, want: "b"},
		{name: "least loaded by runners", kind: "llm",
			members: []Candidate{c("a", 3, "llm"), c("b", 1, "llm"), c("c", 2, "llm")}, want: "b"},
		{name: "equal load: higher health wins", kind: "llm",
			members: []Candidate{health(c("a", 1, "llm"), 0.5), health(c("b", 1, "llm"), 0.9)}, want: "b"},
		{name: "load beats health", kind: "llm",
			members: []Candidate{health(c("a", 2, "llm"), 1.0), health(c("b", 1, "llm"), 0.1)}, want: "b"},
		{name: "a known score ranks before none", kind: "llm",
			members: []Candidate{c("a", 1, "llm"), health(c("b", 1, "llm"), 0.2)}, want: "b"},
		{name: "full tie: node name", kind: "llm",
			members: []Candidate{c("c", 0, "llm"), c("a", 0, "llm"), c("b", 0, "llm")}, want: "a"},
		{name: "same node name: member ID", kind: "llm",
			members: []Candidate{{Member: "z", Node: "n", Kinds: []string{"llm"}}, {Member: "m", Node: "n", Kinds: []string{"llm"}}}, want: "n"},
		{name: "a member at capacity is skipped", kind: "llm",
			members: []Candidate{capped(c("a", 1, "llm"), 1), c("b", 4, "llm")}, want: "b"},
		{name: "kind absent: error names the cluster's kinds", kind: "llm",
			members: []Candidate{c("a", 0, "embed", "tts"), c("b", 0, "asr")}, wantErr: ErrNoMember,
			errText: `no member registers kind "llm"; the cluster has kinds asr, embed, tts`},
		{name: "no kinds at all", kind: "llm", members: []Candidate{c("a", 0)}, wantErr: ErrNoMember,
			errText: "the cluster's 1 members register no kinds"},
		{name: "empty cluster", kind: "llm", members: nil, wantErr: ErrNoMember,
			errText: "the cluster's 0 members register no kinds"},
		{name: "all full: error names their load", kind: "llm",
			members: []Candidate{capped(c("b", 2, "llm"), 2), capped(c("a", 3, "llm"), 2), c("c", 0, "tts")}, wantErr: ErrNoCapacity,
			errText: `every member with kind "llm" is full (a 3/2, b 2/2)`},
		{name: "empty kind", kind: "", members: []Candidate{c("a", 0, "llm")},
			errText: "placement needs a runner kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Place(tt.kind, tt.members)
			if tt.errText != "" {
				if err == nil {
					t.Fatalf("Place = %+v, want error %q", got, tt.errText)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Errorf("error %v does not wrap %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.errText) {
					t.Errorf("error %q does not contain %q", err, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("Place: %v", err)
			}
			if got.Node != tt.want {
				t.Errorf("Place chose %s (%s), want %s", got.Node, got.Member, tt.want)
			}
		})
	}
}

func TestPlaceDoesNotReorderInput(t *testing.T) {
	in := []Candidate{{Member: "b", Kinds: []string{"k"}, Runners: 1}, {Member: "a", Kinds: []string{"k"}}}
	if _, err := Place("k", in); err != nil {
		t.Fatal(err)
	}
	if in[0].Member != "b" {
		t.Fatal("Place reordered its input")
	}
}

func ExamplePlace() {
	members := []Candidate{
		{Member: "m1", Node: "gpu-a", Kinds: []string{"llama"}, Runners: 2},
		{Member: "m2", Node: "gpu-b", Kinds: []string{"llama", "embed"}, Runners: 1},
	}
	c, _ := Place("llama", members)
	_, err := Place("whisper", members)
	fmt.Println(c.Node)
	fmt.Println(err)
	// Output:
	// gpu-b
	// no member registers kind "whisper"; the cluster has kinds embed, llama
}

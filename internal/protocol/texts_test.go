package protocol

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func TestCap(t *testing.T) {
	if got := Cap("short", 10); got != "short" {
		t.Errorf("a text that fits: %q", got)
	}
	// "é" is 2 bytes; the marker " …[truncated 96 bytes]" 24: a head of
	// 36 bytes would split a rune, it is 35 (17 é and an x before them).
	s := "x" + strings.Repeat("é", 50)
	if got, want := Cap(s, 60), "x"+strings.Repeat("é", 17)+fmt.Sprintf(TruncatedFormat, len(s)-35); got != want || len(got) > 60 {
		t.Errorf("Cap at a rune: %q (%d bytes), want %q", got, len(got), want)
	}
	if got := Cap("ééééé", 5); got != "éé" {
		t.Errorf("Cap below the marker's length: %q, want the head alone", got)
	}
}

func FuzzCap(f *testing.F) {
	f.Add("ééééé", 5)
	f.Add(strings.Repeat("x", 100), 10)
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max < 0 || max > 1<<20 {
			return
		}
		got := Cap(s, max)
		if len(s) <= max {
			if got != s {
				t.Fatalf("Cap(%q, %d) = %q: a text that fits changed", s, max, got)
			}
			return
		}
		head, _, _ := strings.Cut(got, " …[truncated ")
		if len(got) > max || !strings.HasPrefix(s, head) || utf8.ValidString(s) && !utf8.ValidString(got) || Cap(got, max) != got {
			t.Fatalf("Cap(%q, %d) = %q", s, max, got)
		}
	})
}

func TestCapTexts(t *testing.T) {
	long := strings.Repeat("x", TextMax+10)
	caps := make([]string, CapabilitiesMax+5)
	for i := range caps {
		caps[i] = "cancel"
	}
	envs := []*exov1.RunnerEnvelope{
		{Body: &exov1.RunnerEnvelope_Hello{Hello: &exov1.Hello{RunnerId: long, Capabilities: caps}}},
		{Body: &exov1.RunnerEnvelope_StatusUpdated{StatusUpdated: &exov1.StatusUpdated{Status: &exov1.RunnerStatus{ErrorMessage: long, Diagnostics: strings.Repeat("d", DiagnosticsMax+1)}}}},
		{Body: &exov1.RunnerEnvelope_TaskAcknowledged{TaskAcknowledged: &exov1.TaskAcknowledged{TaskId: long}}},
		{Body: &exov1.RunnerEnvelope_TaskStatusUpdated{TaskStatusUpdated: &exov1.TaskStatusUpdated{TaskId: "t", Reason: long}}},
		{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{TaskId: "t", Chunk: &exov1.ChunkGenerated_Error{Error: &exov1.ErrorChunk{ErrorMessage: long}}}}},
		{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{TaskId: "t", Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{FinishReason: long}}}}},
		{Body: &exov1.RunnerEnvelope_TerminationError{TerminationError: &exov1.TerminationError{Message: long}}},
	}
	for _, env := range envs {
		if !CapTexts(env) {
			t.Errorf("%T: nothing cut", env.Body)
		}
		if CapTexts(env) {
			t.Errorf("%T: cut twice", env.Body)
		}
	}
	if h := envs[0].GetHello(); len(h.Capabilities) != CapabilitiesMax {
		t.Errorf("%d capabilities kept, want %d", len(h.Capabilities), CapabilitiesMax)
	}
	token := &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{TaskId: "t",
		Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: long}}}}}
	if CapTexts(token) || token.GetChunkGenerated().GetToken().GetText() != long {
		t.Error("a token's text was cut: it is data")
	}
	if CapTexts(&exov1.RunnerEnvelope{}) {
		t.Error("an empty envelope: cut")
	}
}

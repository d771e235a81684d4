package protocol

import (
	"fmt"
	"unicode/utf8"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// Bounds on the texts a runner sends, kept by CapTexts. A frame may carry
// up to its size limit (4 MiB) of text in one field; each such text is
// copied into a failure, its log lines, alerts, the task outcomes it ends
// and the messages to remote clients (a Python runner's trial sent a
// 3 MB TerminationError: four copies in one gateway message exceeded the
// transport's limit, and every later client session of that node was
// dropped). Past its bound a text is cut at a UTF-8 boundary and
// TruncatedFormat says how much was dropped, as for stderr lines.
const (
	// TextMax bounds an error message, a reason, a task ID, a runner ID
	// and a capability name: 4 KiB, a stderr line's bound.
	TextMax = 4096
	// DiagnosticsMax bounds RunnerStatus.diagnostics (a traceback, say).
	DiagnosticsMax = 16384
	// CapabilitiesMax bounds Hello.capabilities; the rest are dropped.
	CapabilitiesMax = 64
	// TruncatedFormat is appended to a cut text, with the bytes dropped.
	TruncatedFormat = " …[truncated %d bytes]"
)

// Cap returns s itself when it fits in max bytes, else its head cut at a
// UTF-8 boundary and followed by TruncatedFormat, max bytes at most in
// all (so a text cut once fits when cut again). Below the marker's own
// length, the head alone.
func Cap(s string, max int) string {
	if len(s) <= max {
		return s
	}
	marker := len(fmt.Sprintf(TruncatedFormat, len(s))) // at least the marker's length
	cut := max - marker
	if cut < 0 {
		cut, marker = max, 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if marker == 0 {
		return s[:cut]
	}
	return s[:cut] + fmt.Sprintf(TruncatedFormat, len(s)-cut)
}

// CapTexts cuts the texts of a runner's frame to their bounds (TextMax,
// DiagnosticsMax, CapabilitiesMax), in place, and says whether it cut any.
// A token's text is data, bounded by the frame and by what a task's
// client accepts: it is left whole.
func CapTexts(env *exov1.RunnerEnvelope) bool {
	cut := false
	c := func(s *string, max int) {
		if len(*s) > max {
			*s, cut = Cap(*s, max), true
		}
	}
	switch b := env.GetBody().(type) {
	case *exov1.RunnerEnvelope_ChunkGenerated: // first: the hot path
		g := b.ChunkGenerated
		if g == nil {
			return false
		}
		c(&g.TaskId, TextMax)
		switch ch := g.GetChunk().(type) {
		case *exov1.ChunkGenerated_Token:
			if ch.Token != nil {
				c(&ch.Token.FinishReason, TextMax)
			}
		case *exov1.ChunkGenerated_Error:
			if ch.Error != nil {
				c(&ch.Error.ErrorMessage, TextMax)
			}
		}
	case *exov1.RunnerEnvelope_TaskAcknowledged:
		if b.TaskAcknowledged != nil {
			c(&b.TaskAcknowledged.TaskId, TextMax)
		}
	case *exov1.RunnerEnvelope_TaskStatusUpdated:
		if u := b.TaskStatusUpdated; u != nil {
			c(&u.TaskId, TextMax)
			c(&u.Reason, TextMax)
		}
	case *exov1.RunnerEnvelope_StatusUpdated:
		if st := b.StatusUpdated.GetStatus(); st != nil {
			c(&st.ErrorMessage, TextMax)
			c(&st.Diagnostics, DiagnosticsMax)
		}
	case *exov1.RunnerEnvelope_TerminationError:
		if b.TerminationError != nil {
			c(&b.TerminationError.Message, TextMax)
		}
	case *exov1.RunnerEnvelope_Hello:
		if h := b.Hello; h != nil {
			c(&h.RunnerId, TextMax)
			if len(h.Capabilities) > CapabilitiesMax {
				h.Capabilities, cut = h.Capabilities[:CapabilitiesMax], true
			}
			for i := range h.Capabilities {
				c(&h.Capabilities[i], TextMax)
			}
		}
	}
	return cut
}

package gateway

// For the external tests: how the window admits blast items.
const (
	BlastGroupForTest        = blastGroup
	BlastItemOverheadForTest = blastItemOverhead
)

// SetSubmittedHookForTest sets the hook that runs on the gateway's actor
// between Node.Submit's return and the forwarder's admission (set it
// before Start; restore undoes it).
func SetSubmittedHookForTest(f func()) (restore func()) {
	testHookSubmitted = f
	return func() { testHookSubmitted = nil }
}

// ClosingForTest is done once Close has moved the gateway to closing
// (Close cancels the gateway's context right after).
func (g *Gateway) ClosingForTest() <-chan struct{} { return g.ctx.Done() }

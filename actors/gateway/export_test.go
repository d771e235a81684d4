package gateway

import "github.com/exo-actors/exo-actors/actors"

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

// SetLastWordHookForTest sets the hook that runs on a task's forwarder
// when its session ended, before lastWord looks at why (set it before
// Start; restore undoes it).
func SetLastWordHookForTest(f func(h *actors.TaskHandle)) (restore func()) {
	testHookLastWord = f
	return func() { testHookLastWord = nil }
}

// PanicActorForTest makes the gateway's actor panic in a handler, as a bug
// would (a callDone without its session): protoactor restarts it.
func (g *Gateway) PanicActorForTest() { g.system.Root.Send(g.pid, &callDone{}) }

// EndpointGoneForTest tells the gateway's actor that the endpoint of
// address terminated, as protoactor's EndpointTerminatedEvent does.
func (g *Gateway) EndpointGoneForTest(address string) {
	g.system.Root.Send(g.pid, &endpointGone{address: address})
}

package gateway

// For the external tests: how the window admits blast items.
const (
	BlastGroupForTest        = blastGroup
	BlastItemOverheadForTest = blastItemOverhead
)

package errhandler

// Kinds returns every failure kind this package defines, in the order of
// their declaration. It returns a new slice on each call. Metrics use it to
// bound and pre-initialise their `kind` and `condition` labels: a node only
// produces these kinds.
func Kinds() []Kind {
	return []Kind{
		KindExecNotFound, KindSpawnFailed, KindVersionMismatch, KindHandshakeTimeout, KindNotARunner,
		KindProtocolError, KindGarbage, KindAckTimeout, KindTaskTimeout, KindWriteClosedPipe, KindSendToStopped,
		KindResourceCloseFailed, KindStreamClosed,
		KindExitZero, KindExitNonZero, KindSignal, KindTerminationError, KindHang, KindNoProgress, KindLoadingStall,
		KindUnhealthy, KindNodeFault, KindNodeLost, KindActorPanic,
	}
}

// Known reports whether k is one of Kinds.
func (k Kind) Known() bool {
	for _, x := range Kinds() {
		if x == k {
			return true
		}
	}
	return false
}

// Rules returns the handler's classification table in match order: the
// user's rules, then DefaultRules (a copy).
func (h *Handler) Rules() []Rule { return append([]Rule(nil), h.rules...) }

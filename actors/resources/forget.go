package resources

// ForgetOwner tells the manager that Owner is gone for good (a runner that
// was removed): its per-owner tally (Snapshot.Owners[Owner]) is dropped once
// the owner has nothing left in the graph and nothing lingering, and its
// counts are folded into the retired sum, which Snapshot.Node still
// includes. So the tallies stay bounded by the owners that still have
// resources plus those not yet forgotten, whatever the uptime. An owner
// that still has resources is forgotten when its last one leaves. No reply.
type ForgetOwner struct{ Owner string }

// forgetOwner marks owner forgotten and drops its tally if it is idle.
func (a *managerActor) forgetOwner(owner string) {
	if a.forgotten == nil {
		a.forgotten = map[string]bool{}
	}
	a.forgotten[owner] = true
	a.dropForgotten(owner)
}

// dropForgotten folds a forgotten owner's tally into the retired sum once
// nothing of it is left in the graph or lingering.
func (a *managerActor) dropForgotten(owner string) {
	if !a.forgotten[owner] {
		return
	}
	for _, r := range a.g.byName {
		if r.spec.Owner == owner {
			return
		}
	}
	for _, l := range a.lingering {
		if l.Owner == owner {
			return
		}
	}
	if t := a.tallies[owner]; t != nil {
		a.retired.add(*t)
		delete(a.tallies, owner)
	}
	delete(a.forgotten, owner)
}

// dropAllForgotten retries every forgotten owner (after closes and late
// finishes, which may have made one idle).
func (a *managerActor) dropAllForgotten() {
	for owner := range a.forgotten {
		a.dropForgotten(owner)
	}
}

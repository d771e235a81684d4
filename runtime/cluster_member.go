package runtime

import (
	"fmt"
	"slices"
)

// memberState is where a member is for the ClusterClient: one value per
// member connection (under cc.mu), changed only through memberToLocked,
// which applies only the transitions in memberTransitions:
//
//	live        → suspect (its connection was lost), leaving (it left the
//	              view with its connection up)
//	suspect     → lost (it left the view, or the view still lists it
//	              DetectionBound later)
//	leaving     → draining (it answered that it shuts down: member_leaving
//	              was reported first), leaving-cut (its connection was lost
//	              while it was asked or announced), lost (no answer in time,
//	              or not shutting down)
//	leaving-cut → lost (checkLeaving decides)
//	draining    → drained (its connection closed)
//	drained     → lost (the next read)
//	lost        → nothing (final: the member ID never returns)
//
// suspect → live does not happen: a lost connection's tasks cannot be
// followed again (a member that answers again is joined anew). Only
// checkLeaving (cluster_leave.go) takes a member out of leaving or
// leaving-cut, and it reports member_leaving while the member is still
// leaving: a host's hook sees member_leaving before member_lost.
type memberState int

const (
	// memberLive: in the view, its connection up; runners are placed
	// there.
	memberLive memberState = iota
	// memberSuspect: its connection was lost; the cluster has not
	// declared it dead yet (since: when). Its tasks stay open.
	memberSuspect
	// memberLost: declared dead (declareLost); its runners went to the
	// policy. Final.
	memberLost
	// memberLeaving: it left the view with its connection up; the client
	// asks it whether it shuts down (checkLeaving), and announces its
	// leave while still in this state.
	memberLeaving
	// memberLeavingCut: it left the view and its connection was lost
	// while the client was asking (or announcing): checkLeaving declares
	// it lost.
	memberLeavingCut
	// memberDraining: it answered that it shuts down (a graceful leave):
	// its running tasks are followed to their end over its connection
	// (since: when it began).
	memberDraining
	// memberDrained: a draining member's connection closed (it exited
	// after its drain, or was cut off; drained: how long it drained,
	// since: when it closed): the next read declares it lost.
	memberDrained
	numMemberStates
)

var memberStateNames = [numMemberStates]string{"live", "suspect", "lost", "leaving", "leaving-cut", "draining", "drained"}

func (s memberState) String() string {
	if s >= 0 && s < numMemberStates {
		return memberStateNames[s]
	}
	return fmt.Sprintf("memberState(%d)", int(s))
}

// memberTransitions is the table of legal transitions: from → the states it
// may go to. Anything else is a bug: counted (InternalErrors), reported
// (internal_error), not applied.
var memberTransitions = map[memberState][]memberState{
	// Its connection was lost (suspect); the view dropped it with its
	// connection up (leaving).
	memberLive: {memberSuspect, memberLeaving},
	// The view dropped it, or still lists it DetectionBound later.
	memberSuspect: {memberLost},
	// Connection lost while asked or announced; it drains; it does not
	// answer in time, or answers that it does not shut down.
	memberLeaving:    {memberLeavingCut, memberDraining, memberLost},
	memberLeavingCut: {memberLost},
	memberDraining:   {memberDrained},
	memberDrained:    {memberLost},
	memberLost:       {},
}

// leaving says the member left the view and its leave is under way (asked,
// announced or draining): calls on its runners get leavingErr, and
// WaitReady waits for the failover that follows.
func (s memberState) leaving() bool {
	return s == memberLeaving || s == memberLeavingCut || s == memberDraining
}

// memberToLocked moves mc to next when memberTransitions allows it, and
// reports whether it moved; an illegal transition (a bug) is counted
// (InternalErrors), queued for an internal_error event (refuseLocked) and
// not applied. Call with cc.mu held.
func (cc *ClusterClient) memberToLocked(mc *memberConn, next memberState) bool {
	if !slices.Contains(memberTransitions[mc.state], next) {
		cc.refuseMemberLocked(mc, next)
		return false
	}
	mc.state = next
	return true
}

package membership

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Evidence is what one eviction check knows, gathered by the check goroutine
// from the current incarnation. All IDs are member IDs as they appear in the
// topology.
type Evidence struct {
	// Now is the time of the check.
	Now time.Time
	// Self is this member's ID.
	Self string
	// Since maps each member in the view (other than Self) to the time it
	// entered the view.
	Since map[string]time.Time
	// Heartbeats maps member IDs to the time this member last received
	// gossip state from them (protoactor's LocalTimestamp of the heartbeat
	// key); a member never heard from is absent.
	Heartbeats map[string]time.Time
	// Blocked is this member's block list (members it evicted for good).
	Blocked map[string]bool
	// LivePeers are the members the provider reports alive right now (answers
	// to HTTP health checks, keys in etcd), whatever this member's view.
	LivePeers []string
	// Unseen maps members the provider has reported alive (and this member
	// has not blocked) but this member's view lacks, to when that was first
	// noticed.
	Unseen map[string]time.Time
	// BlockedBy are the peers (automanaged HTTP addresses) that answered
	// they blocked this member's ID.
	BlockedBy []string
	// PeerConfigs are the automanaged peers' own cluster name and peer
	// list, by peer address, from their /exo/blocked answers
	// (PeerMismatch); not an eviction sign.
	PeerConfigs map[string]PeerConfig
	// OwnKeyDeleted: etcd deleted this member's key (its lease expired).
	OwnKeyDeleted bool
	// EvictAfter is the silence that means eviction.
	EvictAfter time.Duration
	// Etcd says the provider is etcd, where peers do not evict a member
	// themselves: its key's lease expires (the wording of the reasons).
	Etcd bool
}

// Diagnose returns why the evidence says this member was evicted, or "" if
// it does not. The signs, any of which is enough:
//
//   - its own ID is in its block list; a peer says it blocked this ID
//     (automanaged: each member answers /exo/blocked); (etcd) its own key
//     was deleted;
//   - a member that has been in its view for longer than EvictAfter sent no
//     gossip for longer than EvictAfter: members stop gossiping to a member
//     they evicted, and a member that really died leaves every view within
//     the provider's detection bound, which EvictAfter exceeds;
//   - it is alone in its view while the provider reports alive a peer that it
//     blocked itself: the two sides of a split, and this one is the lone side;
//   - the provider's source of truth has listed a live, unblocked member for
//     longer than EvictAfter that its view lacks: its provider missed that
//     member's join (protoactor's etcd provider starts its watch after
//     reading the members, so a member registering in between is never
//     seen); a new incarnation reads the members afresh.
func Diagnose(e Evidence) string {
	if e.OwnKeyDeleted {
		// Not "while it was unreachable": etcd that restarts renews every
		// lease, so after a restart the lease expires only when this
		// member does not ask again in time (an operator's trial: its
		// reconnect backoff had grown to 10 s; docs/cluster.md).
		return fmt.Sprintf("etcd deleted this member's key: its %s lease expired before this member renewed it (this member was paused, or could not reach etcd — etcd stopped, restarting, frozen or cut off from it — for longer than the lease)", etcdLeaseTTL)
	}
	if e.Blocked[e.Self] {
		return "this member's ID is on its own block list (the cluster evicted it)"
	}
	if len(e.BlockedBy) > 0 {
		peers := slices.Clone(e.BlockedBy)
		sort.Strings(peers)
		return fmt.Sprintf("peers at %s blocked this member's ID: they evicted it", strings.Join(peers, ","))
	}
	var silent []string
	for id, since := range e.Since {
		if id == e.Self || e.Now.Sub(since) <= e.EvictAfter {
			continue
		}
		hb, ok := e.Heartbeats[id]
		if !ok || e.Now.Sub(hb) > e.EvictAfter {
			silent = append(silent, id)
		}
	}
	if len(silent) > 0 {
		sort.Strings(silent)
		if e.Etcd {
			// An operator's trial: "they evicted this member" after a
			// node frozen 13 s under etcd, where its lease expired.
			return fmt.Sprintf("no gossip for over %s from %s, still in this member's view: they dropped this member (it was paused or cut off; its etcd key's lease has likely expired)",
				e.EvictAfter, strings.Join(silent, ","))
		}
		return fmt.Sprintf("no gossip for over %s from %s, still in this member's view: they evicted this member",
			e.EvictAfter, strings.Join(silent, ","))
	}
	var missed []string
	for id, since := range e.Unseen {
		if id != e.Self && !e.Blocked[id] && e.Now.Sub(since) > e.EvictAfter {
			missed = append(missed, id)
		}
	}
	if len(missed) > 0 {
		sort.Strings(missed)
		return fmt.Sprintf("the provider has listed live members %s for over %s but this member's view lacks them: it missed their join",
			strings.Join(missed, ","), e.EvictAfter)
	}
	if len(e.Since) == 0 {
		var lost []string
		for _, id := range e.LivePeers {
			if id != e.Self && e.Blocked[id] {
				lost = append(lost, id)
			}
		}
		if len(lost) > 0 {
			sort.Strings(lost)
			return fmt.Sprintf("alone in its view while blocked peers %s are alive: this member is the lone side of a split",
				strings.Join(lost, ","))
		}
	}
	return ""
}

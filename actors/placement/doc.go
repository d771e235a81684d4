// Package placement chooses which cluster member hosts a new runner of a
// given kind. It is a pure function of what the caller knows about the
// members (their kinds, runner counts, capacity and optional health score),
// so it is table-tested and the same everywhere it is called.
//
// The policy, in order:
//
//  1. only members that register the kind are candidates;
//  2. members at capacity (Runners ≥ Capacity, when Capacity > 0) are not;
//  3. the fewest runners wins;
//  4. then the higher health score (a member with a score ranks before one
//     without: the health monitor's evidence beats none);
//  5. then the node name and the member ID, so that the choice is
//     deterministic.
//
// When no member registers the kind, the error wraps [ErrNoMember] and names
// the kinds the cluster has; when every such member is full, it wraps
// [ErrNoCapacity] and names them with their load.
package placement

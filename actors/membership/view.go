package membership

import (
	"slices"
	"sort"
	"strings"

	"github.com/asynkron/protoactor-go/cluster"
)

// Prefixes of the cluster kinds that carry exo-actors' member data.
const (
	nodeKindPrefix    = "exo.node/"
	runnerKindPrefix  = "exo.runner/"
	gatewayKindPrefix = "exo.gateway/"
)

// clusterKinds encodes a node name, its runner kinds and its gateway address
// (if any) as protoactor cluster kinds.
func clusterKinds(nodeName string, kinds []string, gateway string) []string {
	out := []string{nodeKindPrefix + nodeName}
	if gateway != "" {
		out = append(out, gatewayKindPrefix+gateway)
	}
	for _, k := range kinds {
		out = append(out, runnerKindPrefix+k)
	}
	return out
}

// Member is one cluster member as this package sees it.
type Member struct {
	// ID is the protoactor member ID (a new one after every rejoin).
	ID string `json:"id"`
	// Address is the member's protoactor Remote address, host:port.
	Address string `json:"address"`
	// NodeName is the node's name from its configuration ("" for a member
	// that is not an exo-actors node).
	NodeName string `json:"node"`
	// Kinds are the runner kinds the node registers, sorted.
	Kinds []string `json:"kinds"`
	// Gateway is the address of the node's gateway (its own protoactor
	// Remote, stable across rejoins), "" if the node did not give one.
	Gateway string `json:"gateway,omitempty"`
}

// HasKind reports whether the member registers runner kind k.
func (m Member) HasKind(k string) bool { return slices.Contains(m.Kinds, k) }

// memberFrom decodes a protoactor member; other cluster kinds (protoactor's
// own topic kind) are not runner kinds and are left out.
func memberFrom(m *cluster.Member) Member {
	out := Member{ID: m.GetId(), Address: m.Address(), Kinds: []string{}}
	for _, k := range m.GetKinds() {
		switch {
		case strings.HasPrefix(k, nodeKindPrefix):
			out.NodeName = strings.TrimPrefix(k, nodeKindPrefix)
		case strings.HasPrefix(k, gatewayKindPrefix):
			out.Gateway = strings.TrimPrefix(k, gatewayKindPrefix)
		case strings.HasPrefix(k, runnerKindPrefix):
			out.Kinds = append(out.Kinds, strings.TrimPrefix(k, runnerKindPrefix))
		}
	}
	sort.Strings(out.Kinds)
	return out
}

func membersFrom(ms []*cluster.Member) []Member {
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		out = append(out, memberFrom(m))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// View is the cluster as this member sees it at one moment.
type View struct {
	// Cluster is the cluster's name.
	Cluster string `json:"cluster"`
	// Self is this member's current ID; Incarnation counts its joins (1 for
	// the first, +1 per rejoin).
	Self        string `json:"self"`
	Incarnation int    `json:"incarnation"`
	// State is the lifecycle state; Members is empty unless it is Joined.
	State State `json:"state"`
	// Members are the members in the view, sorted by ID, this one included.
	Members []Member `json:"members"`
	// Peers, in a view read from an automanaged member's /exo/view, are
	// the HTTP addresses that member polls (its --cluster-peers), so that
	// a client given only some members' addresses learns the others' (a
	// user's trial: a client given one seed read nothing once that member
	// was gone). Empty in other views.
	Peers []string `json:"peers,omitempty"`
}

// Member returns the member with the given ID.
func (v View) Member(id string) (Member, bool) {
	for _, m := range v.Members {
		if m.ID == id {
			return m, true
		}
	}
	return Member{}, false
}

// Nodes returns the node names of the members, sorted.
func (v View) Nodes() []string {
	out := make([]string, 0, len(v.Members))
	for _, m := range v.Members {
		out = append(out, m.NodeName)
	}
	sort.Strings(out)
	return out
}

// Kinds returns every runner kind some member registers, sorted, once each.
func (v View) Kinds() []string {
	var out []string
	for _, m := range v.Members {
		for _, k := range m.Kinds {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// Changed is the message a subscribed actor receives on every change of the
// view: a topology change, a state change (rejoin), or the final Left.
// Joined and Left list the members that entered and left since the previous
// Changed of the same incarnation.
type Changed struct {
	View   View
	Joined []Member
	Left   []Member
	// Reason says why, for state changes (the eviction sign, a join error).
	Reason string
}

package placement

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/exo-actors/exo-actors/internal/errjoin"
)

// ErrNoMember is wrapped by Place's error when no member registers the kind.
var ErrNoMember = errors.New("no member registers the kind")

// ErrNoCapacity is wrapped by Place's error when every member that registers
// the kind is at capacity.
var ErrNoCapacity = errors.New("every member with the kind is at capacity")

// Candidate is what placement knows about one member.
type Candidate struct {
	// Member is the member ID; Node its node name.
	Member string
	Node   string
	// Kinds are the runner kinds the member registers.
	Kinds []string
	// Runners is how many runners the member hosts now.
	Runners int
	// Capacity is the most runners the member takes; 0 means no limit.
	Capacity int
	// Health is the member's health score (higher is healthier), meaningful
	// only when HealthKnown.
	Health      float64
	HealthKnown bool
}

func (c Candidate) full() bool { return c.Capacity > 0 && c.Runners >= c.Capacity }

// Place returns the candidate that should host a runner of kind, by the
// policy of the package documentation.
func Place(kind string, members []Candidate) (Candidate, error) {
	if kind == "" {
		return Candidate{}, errors.New("placement needs a runner kind, got an empty one")
	}
	var having, open []Candidate
	for _, m := range members {
		if !slices.Contains(m.Kinds, kind) {
			continue
		}
		having = append(having, m)
		if !m.full() {
			open = append(open, m)
		}
	}
	if len(having) == 0 {
		kinds := clusterKinds(members)
		if len(kinds) == 0 {
			return Candidate{}, errjoin.Tag(ErrNoMember, fmt.Errorf("no member registers kind %q; the cluster's %d members register no kinds",
				kind, len(members)))
		}
		// Tagged, not prefixed: "no member registers the kind: no member
		// registers kind …" said it twice.
		return Candidate{}, errjoin.Tag(ErrNoMember, fmt.Errorf("no member registers kind %q; the cluster has kinds %s",
			kind, strings.Join(kinds, ", ")))
	}
	if len(open) == 0 {
		var load []string
		for _, m := range having {
			load = append(load, fmt.Sprintf("%s %d/%d", name(m), m.Runners, m.Capacity))
		}
		sort.Strings(load)
		return Candidate{}, errjoin.Tag(ErrNoCapacity, fmt.Errorf("every member with kind %q is full (%s)", kind, strings.Join(load, ", ")))
	}
	sort.SliceStable(open, func(i, j int) bool { return better(open[i], open[j]) })
	return open[0], nil
}

// better reports whether a ranks before b.
func better(a, b Candidate) bool {
	if a.Runners != b.Runners {
		return a.Runners < b.Runners
	}
	if a.HealthKnown != b.HealthKnown {
		return a.HealthKnown
	}
	if a.HealthKnown && a.Health != b.Health {
		return a.Health > b.Health
	}
	if a.Node != b.Node {
		return a.Node < b.Node
	}
	return a.Member < b.Member
}

func name(c Candidate) string {
	if c.Node != "" {
		return c.Node
	}
	return c.Member
}

// clusterKinds lists every kind some member registers, sorted, once each.
func clusterKinds(members []Candidate) []string {
	var out []string
	for _, m := range members {
		for _, k := range m.Kinds {
			if !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

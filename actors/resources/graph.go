package resources

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// record is the manager's view of one resource. Only the manager actor's
// goroutine touches it.
type record struct {
	id           uint64 // registration number, unique per manager; names the actor
	spec         Spec   // normalized
	state        State
	pid          *actor.PID // the resource actor; nil once it failed
	terminated   bool       // the resource actor has stopped
	registeredAt time.Time
	inGraph      bool

	errors        int // errors ever recorded: failed closes, reported errors, failed resets
	lastError     string
	resets        int // successful resets
	resetFailures int
	lastReset     *ResetResult

	cleanups     int       // cleanups in progress that will close it
	running      int       // its close/reset functions still running past their timeout
	closeStarted time.Time // when its close started (state Closing)
	resetStarted time.Time
	resetWaiters []resetWaiter // Reset requests waiting for the outcome
}

func (r *record) describe() string { return describe(r.spec.Name, r.spec.Owner, r.spec.Generation) }

// graph holds the registered resources and who depends on whom. A resource
// is in the graph from Register until its close finished (Closed or Error).
type graph struct {
	byName     map[string]*record
	dependents map[string]map[string]bool // name → names of the graph's resources that depend on it
}

func newGraph() *graph {
	return &graph{byName: map[string]*record{}, dependents: map[string]map[string]bool{}}
}

// check validates a batch of normalized specs against the graph: no name
// twice, every dependency registered (or in the batch) and not being closed,
// no cycle.
func (g *graph) check(specs []Spec) error {
	batch := make(map[string]bool, len(specs))
	for _, s := range specs {
		if batch[s.Name] {
			return fmt.Errorf("%w: %q is listed twice in one Register call", ErrDuplicate, s.Name)
		}
		batch[s.Name] = true
		old := g.byName[s.Name]
		if old == nil {
			continue
		}
		if old.spec.Owner == s.Owner && s.Owner != "" && old.spec.Generation < s.Generation {
			return fmt.Errorf("%w: %s is still registered (state %s); close the owner first (CloseOwner %q), then register generation %d",
				ErrStillRegistered, old.describe(), old.state, s.Owner, s.Generation)
		}
		return fmt.Errorf("%w: %s (state %s); choose another name, or close it first", ErrDuplicate, old.describe(), old.state)
	}
	for _, s := range specs {
		for _, d := range s.DependsOn {
			if batch[d] {
				continue
			}
			dep := g.byName[d]
			switch {
			case dep == nil:
				return fmt.Errorf("%w: %s depends on %q, which is not registered; register it first or in the same call", ErrMissingDependency, describe(s.Name, s.Owner, s.Generation), d)
			case dep.cleanups > 0 || dep.state == Closing:
				return fmt.Errorf("%w: %s depends on %s, which is being closed", ErrBeingClosed, describe(s.Name, s.Owner, s.Generation), dep.describe())
			}
		}
	}
	if path := findCycle(specs); path != nil {
		return &CycleError{Path: path}
	}
	return nil
}

// findCycle returns a dependency cycle among specs, as a path that starts
// and ends with the same name, or nil. Dependencies outside specs cannot
// close a cycle: the graph is acyclic and nothing in it depends on a name not
// yet registered. The search follows specs and DependsOn in their order, so
// the answer is deterministic.
func findCycle(specs []Spec) []string {
	deps := make(map[string][]string, len(specs))
	for _, s := range specs {
		deps[s.Name] = s.DependsOn
	}
	const (
		unseen = iota
		onPath
		done
	)
	mark := make(map[string]int, len(specs))
	var path []string
	var visit func(name string) []string
	visit = func(name string) []string {
		mark[name] = onPath
		path = append(path, name)
		for _, d := range deps[name] {
			if _, ok := deps[d]; !ok {
				continue
			}
			switch mark[d] {
			case onPath:
				i := slices.Index(path, d)
				return append(slices.Clone(path[i:]), d)
			case unseen:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		mark[name] = done
		return nil
	}
	for _, s := range specs {
		if mark[s.Name] == unseen {
			if c := visit(s.Name); c != nil {
				return c
			}
		}
	}
	return nil
}

func (g *graph) add(r *record) {
	r.inGraph = true
	g.byName[r.spec.Name] = r
	for _, d := range r.spec.DependsOn {
		if g.dependents[d] == nil {
			g.dependents[d] = map[string]bool{}
		}
		g.dependents[d][r.spec.Name] = true
	}
}

// remove takes a resource whose close finished out of the graph.
func (g *graph) remove(r *record) {
	r.inGraph = false
	delete(g.byName, r.spec.Name)
	for _, d := range r.spec.DependsOn {
		delete(g.dependents[d], r.spec.Name)
		if len(g.dependents[d]) == 0 {
			delete(g.dependents, d)
		}
	}
}

// closable reports whether r's close may start now: nothing in the graph
// depends on it any more and no function of it is running in time.
func (g *graph) closable(r *record) bool {
	return r.inGraph && len(g.dependents[r.spec.Name]) == 0 && r.state != Closing && r.state != Resetting
}

// closure returns seeds plus everything in the graph that depends on them,
// directly or not, in registration order.
func (g *graph) closure(seeds []*record) []*record {
	in := make(map[string]*record, len(seeds))
	queue := append([]*record(nil), seeds...)
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		if in[r.spec.Name] != nil {
			continue
		}
		in[r.spec.Name] = r
		for name := range g.dependents[r.spec.Name] {
			queue = append(queue, g.byName[name])
		}
	}
	out := make([]*record, 0, len(in))
	for _, r := range in {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *record) int { return cmp.Compare(a.id, b.id) })
	return out
}

// sorted returns the graph's resources in registration order.
func (g *graph) sorted() []*record {
	out := make([]*record, 0, len(g.byName))
	for _, r := range g.byName {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b *record) int { return cmp.Compare(a.id, b.id) })
	return out
}

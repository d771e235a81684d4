package membership

import (
	"encoding/json"
	"fmt"
	"slices"
)

// State is where a [Membership] is in its lifecycle. It is the only
// lifecycle value the Membership actor holds; every change goes through one
// function that checks it against the transition table (stateTransitions).
type State int

const (
	// Joining: an incarnation is starting (etcd check, Remote, provider).
	Joining State = iota
	// Joined: the incarnation is a member; topology changes are delivered.
	Joined
	// Rejoining: the incarnation was found evicted and is being torn down;
	// a new one (new member ID) joins next. No view is reported meanwhile.
	Rejoining
	// Leaving: Stop was called; the incarnation is being torn down.
	Leaving
	// Left: terminal; no incarnation is running.
	Left
	numStates
)

var stateNames = [numStates]string{"joining", "joined", "rejoining", "leaving", "left"}

// String returns the state's lower-case name.
func (s State) String() string {
	if s >= 0 && s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", int(s))
}

// MarshalJSON writes the state's name.
func (s State) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// UnmarshalJSON reads a state's name.
func (s *State) UnmarshalJSON(b []byte) error {
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return err
	}
	for i, n := range stateNames {
		if n == name {
			*s = State(i)
			return nil
		}
	}
	return fmt.Errorf("unknown membership state %q", name)
}

// stateTransitions is the table of legal transitions: from → the states it
// may go to.
var stateTransitions = map[State][]State{
	// Joined; the join failed and is retried as a rejoin; Stop.
	Joining: {Joined, Rejoining, Leaving},
	// Evicted (→ Rejoining); Stop.
	Joined: {Rejoining, Leaving},
	// The old incarnation let go of its ports: the next one joins; Stop.
	Rejoining: {Joining, Leaving},
	// The incarnation is gone.
	Leaving: {Left},
	Left:    {},
}

// canTransition reports whether from → to is in the table.
func canTransition(from, to State) bool { return slices.Contains(stateTransitions[from], to) }

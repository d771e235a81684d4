package actors

import (
	"fmt"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
)

// maxDeparted bounds the departed clients a node remembers; beyond it the
// oldest is forgotten (a late message to it is then classified
// send_to_stopped again, as before it was remembered).
const maxDeparted = 1024

// departedClients remembers the remote clients whose session ended (a
// goodbye, or the client's loss), each by
// its client actor's PID (address and ID: clientKey), not by its address
// alone: several Clients of one process share the address, and one's
// goodbye says nothing about the others. A message to a departed client
// afterwards (a late reply, an event already on its way) cannot be
// delivered, and that is normal: the node counts it
// (ForwardStats.ToDeparted) and logs it at debug instead of classifying it
// send_to_stopped, a MEDIUM warning that pointed to a Go-only counter.
type departedClients struct {
	mu    sync.Mutex
	set   map[string]struct{}
	order []string // oldest first; len(order) == len(set) ≤ maxDeparted
}

// clientKey names one client actor: its process's address and its ID
// there (the gateway keys its sessions the same way).
func clientKey(pid *actor.PID) string { return pid.Address + "/" + pid.Id }

func (d *departedClients) add(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.set == nil {
		d.set = map[string]struct{}{}
	}
	if _, ok := d.set[key]; ok {
		return
	}
	if len(d.order) >= maxDeparted {
		delete(d.set, d.order[0])
		d.order = d.order[1:]
	}
	d.set[key] = struct{}{}
	d.order = append(d.order, key)
}

func (d *departedClients) remove(key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.set[key]; !ok {
		return
	}
	delete(d.set, key)
	for i, k := range d.order {
		if k == key {
			d.order = append(d.order[:i], d.order[i+1:]...)
			break
		}
	}
}

func (d *departedClients) has(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.set[key]
	return ok
}

// ClientDeparted tells the node that the session of the remote client
// actor pid ended, by its goodbye or its loss (the gateway calls it):
// messages sent to that PID afterwards are
// expected dead letters, counted in ForwardStats.ToDeparted and logged at
// debug, not classified send_to_stopped. Another client of the same
// process (same address, another PID) is not concerned. A local PID
// (empty address) is ignored.
func (n *Node) ClientDeparted(pid *actor.PID) {
	if pid != nil && pid.Address != "" && pid.Address != "nonhost" {
		n.cfg.departed.add(clientKey(pid))
	}
}

// ClientArrived tells the node that the client actor pid started a session
// (again: the same PID after its goodbye, or a new process at the address
// whose actor got the same ID): messages to it count as dead letters again
// if undeliverable.
func (n *Node) ClientArrived(pid *actor.PID) {
	if pid != nil {
		n.cfg.departed.remove(clientKey(pid))
	}
}

// toDeparted handles a dead letter to a departed client actor: counted and
// logged at debug. It reports whether dl was one.
func (n *nodeConfig) toDeparted(dl *actor.DeadLetterEvent) bool {
	if dl.PID.Address == "" || !n.departed.has(clientKey(dl.PID)) {
		return false
	}
	n.fwd.toDeparted.Add(1)
	n.logger.WithFields(logrus.Fields{"message": fmt.Sprintf("%T", dl.Message), "to": dl.PID.Id, "address": dl.PID.Address}).
		Debug("message to a client whose session ended not delivered (expected: a late reply or event)")
	return true
}

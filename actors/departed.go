package actors

import (
	"fmt"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
)

// maxDeparted bounds the addresses of departed clients a node remembers;
// beyond it the oldest is forgotten (a late message to it is then
// classified send_to_stopped again, as before it was remembered).
const maxDeparted = 1024

// departedClients remembers the addresses of remote clients that said
// goodbye. A message to one of them afterwards (a late reply, an event
// already on its way) cannot be delivered, and that is normal: the node
// counts it (ForwardStats.ToDeparted) and logs it at debug instead of
// classifying it send_to_stopped, a MEDIUM warning that pointed to a
// Go-only counter.
type departedClients struct {
	mu    sync.Mutex
	set   map[string]struct{}
	order []string // oldest first; len(order) == len(set) ≤ maxDeparted
}

func (d *departedClients) add(address string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.set == nil {
		d.set = map[string]struct{}{}
	}
	if _, ok := d.set[address]; ok {
		return
	}
	if len(d.order) >= maxDeparted {
		delete(d.set, d.order[0])
		d.order = d.order[1:]
	}
	d.set[address] = struct{}{}
	d.order = append(d.order, address)
}

func (d *departedClients) remove(address string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.set[address]; !ok {
		return
	}
	delete(d.set, address)
	for i, a := range d.order {
		if a == address {
			d.order = append(d.order[:i], d.order[i+1:]...)
			break
		}
	}
}

func (d *departedClients) has(address string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.set[address]
	return ok
}

// ClientDeparted tells the node that the remote client at pid's address
// said goodbye (the gateway calls it): messages sent to that address
// afterwards are expected dead letters, counted in ForwardStats.ToDeparted
// and logged at debug, not classified send_to_stopped. A local PID (empty
// address) is ignored.
func (n *Node) ClientDeparted(pid *actor.PID) {
	if pid != nil && pid.Address != "" && pid.Address != "nonhost" {
		n.cfg.departed.add(pid.Address)
	}
}

// ClientArrived tells the node that a client at pid's address started a
// session: messages to it count as dead letters again if undeliverable.
func (n *Node) ClientArrived(pid *actor.PID) {
	if pid != nil {
		n.cfg.departed.remove(pid.Address)
	}
}

// toDeparted handles a dead letter to a departed client's address: counted
// and logged at debug. It reports whether dl was one.
func (n *nodeConfig) toDeparted(dl *actor.DeadLetterEvent) bool {
	if dl.PID.Address == "" || !n.departed.has(dl.PID.Address) {
		return false
	}
	n.fwd.toDeparted.Add(1)
	n.logger.WithFields(logrus.Fields{"message": fmt.Sprintf("%T", dl.Message), "to": dl.PID.Id, "address": dl.PID.Address}).
		Debug("message to a client that said goodbye not delivered (expected: a late reply or event)")
	return true
}

package actors

import "github.com/exo-actors/exo-actors/actors/streams"

// Stream returns the node's stream of a topic, or nil for an unknown topic.
// The node gateway subscribes actors to it (streams.Subscribe with a PID).
func (n *Node) Stream(topic string) *streams.Stream { return n.cfg.streams[topic] }

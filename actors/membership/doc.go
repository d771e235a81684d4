// Package membership joins this process to a protoactor-go cluster and keeps
// it there: membership, gossip and failure detection come from protoactor's
// cluster package and its providers; this package adds a typed view of the
// members, delivers every change of that view to actors, and notices when the
// provider evicted this member so that it rejoins under a new member ID.
//
// # Model
//
// A [Membership] owns one cluster member at a time, an incarnation: an actor
// system of its own with a protoactor Remote (one per process), a cluster and
// a provider. Its member ID is the actor system's ID. The [Membership] itself
// is an actor in the caller's (local) actor system, so it outlives
// incarnations: when the current one is evicted it is torn down and a new one
// joins with a new member ID and a new Remote port. Its lifecycle is one
// [State] value (Joining → Joined → Rejoining → Joining … → Leaving → Left);
// transitions are listed in one table.
//
// Providers ([ProviderAutomanaged], [ProviderEtcd]) are a switch in [Config].
// automanaged needs nothing else (one machine or a fixed host list; its HTTP
// port is bound to 127.0.0.1 unless Config.Host says otherwise). etcd uses
// our own provider (etcdMember: protoactor's keys and values, but torn down
// fully on a rejoin — lease revoked, goroutines ended, client closed);
// before any member starts, the endpoints are checked with a bounded Status
// call, so an unreachable etcd is a clear error at once. Kubernetes and Consul are the same switch in
// protoactor and are documented in docs/cluster.md, not built here.
//
// # What a member carries
//
// protoactor's Member has an ID, host, port and kinds. The node name and the
// runner kinds this node registers travel as cluster kinds with a prefix
// ("exo.node/NAME", "exo.runner/KIND", "exo.gateway/ADDR"), so every provider carries them from
// the first topology on; [Member] decodes them.
//
// # Changes
//
// protoactor publishes *cluster.ClusterTopology on the incarnation's event
// stream (MemberJoined/MemberLeft events are never published at our pin). The
// subscription hands each topology to the Membership actor's mailbox; the
// actor turns it into a [View] and sends a [*Changed] message to every
// subscribed actor. No channel is shared with protoactor's goroutines.
//
// # Eviction
//
// A member the provider dropped (a pause longer than its health timeout, an
// etcd lease that expired) is blocked for good by the others and never
// readmitted, yet it goes on believing it is a member. Every CheckInterval the
// actor looks for the signs, see [Diagnose]: a peer answers that it blocked
// this member's ID (automanaged); its own etcd key was deleted; gossip
// heartbeats from members in its view stopped for longer than EvictAfter
// (they no longer gossip to a member they blocked); it is alone in its view
// while the provider reports live peers it has blocked itself (the
// split-brain shape); or the provider lists a live member its view lacks. Any sign makes it leave and rejoin under a new member ID,
// with State Rejoining in between: a rejoining member reports no view, so no
// node ever presents itself as a one-member cluster while the others run.
package membership

// Package streams implements the node's event streams: one protoactor actor
// per topic (runner status, tasks with their chunks, error records, alerts)
// that numbers every event and fans it out to subscribers, each with a
// bounded buffer and an explicit slow-subscriber policy, and that accounts
// for every event it was offered.
//
// # Why a send on a closed channel cannot happen here
//
// exo's original bug was a reader looping over a channel that another task
// closed between iterations, and a writer sending on it. In this package:
//
//   - No Go channel is closed by anyone but its sole sender. There are three
//     kinds: a subscription's doorbell (capacity 1, never closed: a
//     non-blocking send says "look at the inbox"), the reply channel of one
//     Flush call (capacity 1, never closed, at most one send), and
//     Stream.Done (closed once, under a sync.Once, by the stream actor's
//     Stopped handler; nobody sends on it).
//   - Events reach a local reader by a method call, deliver, that appends to
//     the Subscription's inbox under its mutex; the reader's Next pops under
//     the same mutex. Neither side can find the other "closed": the end of
//     the stream is a value (an error wrapping ErrEndOfStream) stored after
//     the last event, so Next returns every event first and then that error,
//     forever, whatever the interleaving of Next, Subscription.Close, Close
//     and Stop.
//   - Everything else is a message to the stream actor's mailbox (Publish,
//     Credit, Close, Flush) or from it (Delivery to subscriber actors), or a
//     call that takes the Stream's mutex (Subscribe, Grant, leaving). A
//     message to a stopped actor is a dead letter, never a panic; the Stream
//     handle refuses to send once the stream closed and counts each refusal
//     as a dead letter (see below).
//
// # The model
//
// New makes a Stream: the state that outlives any incarnation of its actor
// (sequence counter, subscriber table, buffers, counters). Its Props build a
// fresh, stateless actor over that state, so a parent may restart or resume
// a failed stream actor without losing sequence numbers or subscribers;
// ParentStrategy resumes. The actor handles one message at a time under the
// Stream's mutex; Subscribe, Grant, Subscription.Close and Stats take the
// same mutex from other goroutines, so they are exact: a subscriber sees
// every event accepted after Subscribe returned, and none is handed to it
// after Close returned. Event streams are local: messages are Go structs.
//
// The stream's mutex is never left locked by a failure: every handler
// unlocks it with defer, so a panic in the actor (a bug; the parent resumes
// it) cannot deadlock later Subscribe, Grant, Publish or Stats calls. A
// Publish lost to such a panic before it was numbered is counted as a dead
// letter.
//
// Every accepted event gets the stream's next sequence number (1, 2, 3, ...
// without holes). Gap events consume none: their Seq is 0 and their Gap says
// which sequence numbers were dropped.
//
// # Flow control and the slow-subscriber policy
//
// Delivery is push with credit. A subscriber has a window W (default 64): the
// stream hands it at most W events that it has not yet acknowledged. A
// Subscription acknowledges by itself: after Next has returned W/2 events it
// calls Stream.Grant, which hands it the next buffered events at once. A
// subscriber actor receives *Delivery messages and sends Credit{ID, N} back
// (or calls Grant, if it holds the Stream). A Credit message queues in the
// mailbox behind the Publishes already there; Grant does not, which is why
// Subscriptions use it: a reader that keeps up never loses events to a burst.
//
// # Batches
//
// A producer with many small events (a runner's token chunks) sends them as
// one PublishBatch (Stream.PublishBatch) instead of one Publish each: one
// mailbox message, each event still its own sequence number, in order. The
// stream hands each local subscriber the batch's events in one delivery (or
// a full window at a time), and Subscription.NextBatch takes everything
// handed over in one call. PublishBatch's Done is called once the stream has
// taken the batch: the producer's credit, which bounds what it has in flight
// toward the stream (the runner's stdout reader waits for it). In the
// accounting each event of a batch counts as one Publish.
//
// Matched events beyond the credit wait in the subscriber's buffer inside the
// stream, of Buffer events (default 1024). When the buffer is full and one
// more event matches, the oldest buffered event is dropped and counted, and a
// Gap takes its place: it is handed over just before the next buffered event,
// that is, in the subscriber's order exactly where the dropped events were.
// Consecutive drops coalesce into one Gap (Dropped, FromSeq, ToSeq); a Gap
// takes no credit and always travels with the event after it, so a reader
// never sees two Gaps in a row. So a buffer never grows beyond its size and no
// drop is silent: each dropped event is counted in the subscriber's Dropped
// and the stream's GapDropped, and is inside exactly one Gap (handed over, or
// discarded with the buffer of a subscriber that left). A subscriber that
// keeps up with the stream never loses anything.
//
// # Ending
//
//   - Close (message or Stream.Close): the gate closes (later Publishes are
//     refused and counted as dead letters), every subscriber is handed
//     everything still buffered for it, credit or not (bounded by its buffer
//     size), then EndOfStream; pending Flushes are answered; the actor sends
//     itself a poison pill, which queues behind every Publish that entered the
//     mailbox before the gate closed, so each is taken and counted.
//   - Stop, Poison or the parent stopping: the same, in the actor's Stopping
//     handler. Publishes of this handle still in the mailbox are counted as
//     dead letters there (protoactor drops messages that are in the mailbox
//     of a stopped actor without a dead letter).
//   - Subscribing to a closed or stopped stream yields a subscription that
//     has ended: Next returns ErrEndOfStream at once (a subscriber actor gets
//     a Delivery with End).
//   - A subscriber leaving (Subscription.Close, Unsubscribe, its actor
//     stopping) is removed at once; what its buffer holds is counted as
//     discarded, and nothing more is handed to it.
//   - A Subscription dropped without Close is abandoned: the stream holds
//     only the inbox inside the handle, so the garbage collector finds the
//     handle unreachable, and a cleanup (runtime.AddCleanup) removes the
//     subscriber as Close would, counts its buffer as discarded and lists it
//     as Abandoned (SubStats, Stats.Abandoned). A handle stays reachable
//     while Next waits on it.
//   - Flush (the DRAINING step) waits only for subscribers that make
//     progress. One that holds events back and showed no progress (no
//     event returned by Next, no Grant, no Credit) for Config.Stall
//     (default 2 s), or none since it joined, is stalled (SubStats.Stalled):
//     Flush stops waiting for it, a timer on the stream's clock answering
//     the Flush at that moment. Its events stay buffered, and Close hands
//     them over. So a reader that stopped reading, abandoned or stuck,
//     holds a shutdown's DRAINING for at most Stall, not its deadline.
//   - Publishing to a closed or stopped stream through Stream.Publish
//     returns ErrStreamClosed and is counted as a dead letter. A Publish sent
//     to the actor's PID directly after it stopped becomes a protoactor dead
//     letter (an *actor.DeadLetterEvent on the system's EventStream, logged
//     with a throttle); the stream cannot count those, so producers use
//     Stream.Publish.
//
// # Accounting
//
// Per subscriber (SubStats), with "offered to it" meaning the events with
// JoinedAt < Seq <= LeftAt (or <= Published while it is live):
//
//	Matched   = offered events that passed its filter (= all offered if none)
//	Matched   = Delivered + Dropped + Buffered + Discarded
//
// Per stream (Stats), sums over every subscriber that ever joined:
//
//	Matched   = Delivered + GapDropped + Buffered + Discarded
//	Offered   = Published + DeadLettered + InFlight   (InFlight = 0 once stopped)
//
// so with N unfiltered subscribers present throughout, Published × N events
// were delivered, or dropped inside counted Gaps, or are still buffered.
// Stats.Check verifies all of this; Stream.Stats and the StatsQuery message
// return the snapshot for tests and status.
package streams

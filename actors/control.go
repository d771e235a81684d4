package actors

import (
	goruntime "runtime"

	"github.com/asynkron/protoactor-go/actor"
)

// runnerMailbox is the runner actor's mailbox: protoactor's unbounded
// priority mailbox. The stdout reader's batches (proc.Frames and its last
// proc.ReaderClosed) carry a lower priority (proc.PriorityOutput) than
// every other message, so a StopRunner, a shutdown phase, a timer, a probe
// or a Submit that arrives while a flooding runner's batches are queued is
// handled after the batch in hand, not behind all of them. The batches keep
// their order among themselves; nothing else the actor receives depends on
// arriving after a batch (the exit and stderr come from other goroutines
// and were never ordered with stdout), except the deadlines output can
// beat: a task's timers and the drain deadline share the batches' priority
// (taskTimerFired.GetPriority, timerFired.GetPriority), so a task's end read
// before its deadline is handled before the deadline. The reader's credit bounds the
// batches queued (proc.Options.ReadWindow), and control messages are few,
// so the output is never starved. The queues are protoactor's lock-free
// linked ones (UnboundedPriorityMpsc), a node per message: eight ring
// buffers (UnboundedPriority) would cost an idle runner about 1.5 KiB.
func runnerMailbox() actor.MailboxProducer { return actor.UnboundedPriorityMpsc() }

// yieldToAnswered lets the goroutine the actor just answered run now. An
// answer (a reply to a future, a channel send, a message to an idle
// actor's mailbox) makes the waiting goroutine runnable on this
// goroutine's P, in its "run next" slot, where it waits until this
// goroutine blocks or yields. While a runner floods, the runner actor's
// mailbox never empties, so without a yield the caller of a stop or a
// probe waited for the actor's next pause or for the scheduler's
// preemption (up to 10 ms): 2.3 ms at p99 in flood_probe_ms, against
// 0.15 ms with it (docs/performance.md). The yield costs nothing when
// nothing else is runnable; call it only after answering a control
// message, never per frame.
func yieldToAnswered() { goruntime.Gosched() }

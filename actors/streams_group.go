package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/streams"
	"github.com/exo-actors/exo-actors/internal/actorguard"
	"github.com/exo-actors/exo-actors/runtime/clock"
)

// Topics of the node's event streams.
const (
	TopicRunnerStatus = streams.TopicRunnerStatus // process starts/exits, status changes, failures, stops
	TopicTasks        = streams.TopicTasks        // task statuses and chunks
	TopicErrors       = streams.TopicErrors       // supervision decisions (error records)
	TopicAlerts       = streams.TopicAlerts       // alerts
)

// topicOf says which stream carries an event, and its kind and task.
func topicOf(e Event) (topic, kind, taskID string) {
	switch e := e.(type) {
	case *ProcessStarted:
		return TopicRunnerStatus, KindProcessStarted, ""
	case *StatusChanged:
		return TopicRunnerStatus, KindStatusChanged, ""
	case *ProcessExited:
		return TopicRunnerStatus, KindProcessExited, ""
	case *RunnerFailed:
		return TopicRunnerStatus, KindRunnerFailed, ""
	case *RunnerStopped:
		return TopicRunnerStatus, KindRunnerStopped, ""
	case *TaskStatusChanged:
		return TopicTasks, KindTaskStatus, e.TaskID
	case *TaskAcknowledged:
		return TopicTasks, KindTaskAcknowledged, e.TaskID
	case *TaskChunk:
		return TopicTasks, KindTaskChunk, e.TaskID
	case *TaskRetried:
		return TopicTasks, KindTaskRetried, e.TaskID
	case *SupervisionDecision:
		return TopicErrors, KindSupervisionDecision, ""
	case *Alert:
		return TopicAlerts, KindAlert, ""
	case *HealthAlert:
		return TopicAlerts, KindHealthAlert, ""
	case *HealthChanged:
		return TopicRunnerStatus, KindHealthChanged, ""
	}
	return "", "", ""
}

// streamOpDone is the answer of a flush or close goroutine.
type streamOpDone struct {
	topic string
	phase Phase
	err   error
}

// streamGroup is the parent of the node's event streams. Their state lives
// outside any incarnation (package streams), and its strategy resumes a failed
// stream, so no sequence number or subscriber is ever lost. It answers the
// shutdown phases: DRAINING flushes every stream, CLOSING closes them (every
// subscriber gets EndOfStream after the last event), after the runners and
// resources stages, so every producer has sent its last event.
type streamGroup struct {
	node    *nodeConfig
	phase   *collector
	before  map[string]uint64 // delivered counts at the phase start
	cancel  context.CancelFunc
	running int // flush/close goroutines not yet answered
}

// streamsSpawnedQuery asks the stream group whether its Started, which
// spawns the streams, is done: any answer says it is (StartNode waits for
// it: node_lifecycle.go, awaitStarted).
type streamsSpawnedQuery struct{}

func (g *streamGroup) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *streamsSpawnedQuery:
		ctx.Respond(true)
	case *actor.Started:
		for _, topic := range streams.Topics() {
			if _, err := g.node.streams[topic].Spawn(ctx, "stream-"+topic, g.node.dispatcher()); err != nil {
				g.node.logger.WithError(err).WithField("topic", topic).Error("could not spawn event stream")
			}
		}
	case *phaseRequest:
		g.onPhase(ctx, m)
	case *streamOpDone:
		g.running--
		if g.phase == nil || m.phase != g.phase.report.Phase {
			return
		}
		r := g.streamReport(m.topic, m.err)
		g.phase.add(r)
		if g.phase.done() {
			g.finish(ctx)
		}
	case *actor.Stopping:
		actorguard.Run(g.node.logger, "stream group", m, g.onStopping)
	}
}

// onStopping cancels the flushes and closes still running.
func (g *streamGroup) onStopping() {
	if g.cancel != nil {
		g.cancel()
	}
}

func (g *streamGroup) streamReport(topic string, err error) *PhaseReport {
	st := g.node.streams[topic].Stats()
	now := g.node.runnerClock.Now()
	r := &PhaseReport{Actor: topic, Phase: g.phase.report.Phase, Start: g.phase.report.Start,
		Duration: now.Sub(g.phase.report.Start), Outcome: OutcomeOK, EventsDelivered: st.Delivered - g.before[topic], id: g.phase.report.id}
	switch {
	case err == nil:
	case g.phase.report.Phase == PhaseDraining && st.Buffered == 0 && st.InFlight == 0,
		g.phase.report.Phase == PhaseClosing && st.Closed && st.Buffered == 0:
		// Nothing was left to hand over: the wait missed a deadline that had
		// passed before it began (an earlier stage ran late), but the stream
		// owes nobody anything.
	default:
		r.Outcome, r.Note = OutcomeTimedOut, err.Error()
	}
	if stalled := stalledSubscribers(st); err == nil && stalled > 0 && r.Phase == PhaseDraining {
		r.Note = fmt.Sprintf("not waited for %d stalled subscriber(s): nothing acknowledged for %s", stalled, streams.DefaultStall)
	}
	if cerr := st.Check(); cerr != nil {
		r.Outcome, r.Note = OutcomeFailed, "accounting: "+cerr.Error()
	}
	return r
}

// stalledSubscribers counts the subscribers a Flush did not wait for.
func stalledSubscribers(st streams.Stats) int {
	n := 0
	for _, ss := range st.PerSubscriber {
		if ss.Stalled {
			n++
		}
	}
	return n
}

func (g *streamGroup) onPhase(ctx actor.Context, req *phaseRequest) {
	now := g.node.runnerClock.Now()
	g.phase = newCollector("streams", req, ctx.Sender(), now)
	g.before = map[string]uint64{}
	for _, topic := range streams.Topics() {
		g.before[topic] = g.node.streams[topic].Stats().Delivered
	}
	if req.phase == PhaseSignaling {
		for _, topic := range streams.Topics() {
			g.phase.pending[topic] = true
			g.phase.add(g.streamReport(topic, nil))
		}
		g.finish(ctx)
		return
	}
	// Flush and Close block until subscribers took their events: run each
	// on a goroutine bounded by the phase deadline, answering by message.
	// The streams come after the runners in each phase: when the runners
	// used the phase's deadline up, the events their last moments produced
	// still get phaseSlack to reach the subscribers (the node root waits
	// 2×phaseSlack past the deadline for this stage).
	deadline := req.deadline
	if least := now.Add(phaseSlack); deadline.Before(least) {
		deadline = least
	}
	// The deadline is on the node's clock (RunnerClock), which need not be
	// the wall clock: context.WithDeadline would read a stepped clock's
	// time as long past (a flaky TestDrainTaskEndingByItselfIsNotCutShort
	// in CI) or far off. A timer on that clock cancels instead.
	opCtx, cancel := clockDeadline(g.node.runnerClock, deadline.Sub(now))
	g.cancel = cancel
	self, system := ctx.Self(), ctx.ActorSystem()
	for _, topic := range streams.Topics() {
		g.phase.pending[topic] = true
		g.running++
		s, phase := g.node.streams[topic], req.phase
		go func() {
			var err error
			if phase == PhaseDraining {
				err = s.Flush(opCtx)
			} else {
				err = s.Close(opCtx)
			}
			system.Root.Send(self, &streamOpDone{topic: s.Topic(), phase: phase, err: err})
		}()
	}
}

func (g *streamGroup) finish(ctx actor.Context) {
	c := g.phase
	g.phase = nil
	if g.cancel != nil {
		g.cancel()
		g.cancel = nil
	}
	for _, r := range c.report.Children {
		if r.Outcome != OutcomeOK {
			c.report.Outcome = OutcomeTimedOut
		}
	}
	c.finish(ctx, g.node.runnerClock.Now())
}

// HandleFailure implements actor.SupervisorStrategy: a stream failed (a
// bug); its state is outside the incarnation, so resuming it loses nothing.
func (g *streamGroup) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason interface{}, _ interface{}) {
	g.node.logger.WithFields(logrus.Fields{"stream": child.Id, "reason": fmt.Sprint(reason)}).Error("event stream failed: resuming it")
	sup.ResumeChildren(child)
}

// clockDeadline is context.WithTimeout on clk: the context ends with
// context.DeadlineExceeded as its cause (context.Cause) when d has passed
// on clk, or when cancel is called (cause context.Canceled). cancel stops
// the timer; call it once the work is done.
func clockDeadline(clk clock.Clock, d time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancelCause := context.WithCancelCause(context.Background())
	t := clk.AfterFunc(d, func() { cancelCause(context.DeadlineExceeded) })
	return ctx, func() {
		t.Stop()
		cancelCause(context.Canceled)
	}
}

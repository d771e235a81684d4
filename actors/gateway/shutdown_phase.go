package gateway

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/exo-actors/exo-actors/actors"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// ShutdownPhaseFunc runs one phase of the node's shutdown for a
// cluster-wide shutdown (actors.Node.ShutdownPhase, wrapped by the host)
// and returns the node's report so far.
type ShutdownPhaseFunc func(ctx context.Context, ph actors.Phase, deadline, goOnAfter time.Duration) (actors.ShutdownReport, error)

// PhaseFromProto maps a GwPhase to the actors' phase; false for
// GW_PHASE_UNSPECIFIED or an unknown value.
func PhaseFromProto(p exov1.GwPhase) (actors.Phase, bool) {
	switch p {
	case exov1.GwPhase_GW_PHASE_SIGNALING:
		return actors.PhaseSignaling, true
	case exov1.GwPhase_GW_PHASE_DRAINING:
		return actors.PhaseDraining, true
	case exov1.GwPhase_GW_PHASE_CLOSING:
		return actors.PhaseClosing, true
	}
	return 0, false
}

// PhaseToProto maps an actors phase to its GwPhase.
func PhaseToProto(p actors.Phase) exov1.GwPhase {
	switch p {
	case actors.PhaseSignaling:
		return exov1.GwPhase_GW_PHASE_SIGNALING
	case actors.PhaseDraining:
		return exov1.GwPhase_GW_PHASE_DRAINING
	case actors.PhaseClosing:
		return exov1.GwPhase_GW_PHASE_CLOSING
	}
	return exov1.GwPhase_GW_PHASE_UNSPECIFIED
}

// shutdownPhase serves GwShutdownPhase: the phase runs on a goroutine the
// gateway owns (it lasts up to the phase's deadline), which answers the
// sender with GwShutdownPhaseReport.
func (a *gatewayActor) shutdownPhase(ctx actor.Context, s *session, m *exov1.GwShutdownPhase) {
	g, callID := a.g, m.GetCallId()
	if g.cfg.ShutdownPhase == nil {
		a.reply(ctx, errMsg(callID, errNoRemoteShutdown()))
		return
	}
	ph, ok := PhaseFromProto(m.GetPhase())
	if !ok {
		a.reply(ctx, errMsg(callID, fmt.Errorf("%w: shutdown phase %v: want SIGNALING, DRAINING or CLOSING", ErrInvalidArgument, m.GetPhase())))
		return
	}
	deadline, goOn := m.GetDeadline().AsDuration(), m.GetGoOnAfter().AsDuration()
	if deadline < 0 || goOn < 0 {
		a.reply(ctx, errMsg(callID, fmt.Errorf("%w: shutdown phase %s: negative deadline %v or go_on_after %v", ErrInvalidArgument, ph, deadline, goOn)))
		return
	}
	to, replyMax := ctx.Sender(), s.bounds.reply
	// A shutdown call: the note that the node shut down (Close) waits for
	// its report, the last phase's above all.
	if !a.goCallDone(ctx, s, callID, &callDone{s: s, shutdown: true}, func() {
		// No bound of its own: each phase is bounded on the node (by
		// deadline, or the node's own, and the margins of its answers). A
		// bound here shorter than the phases asked for would cut them
		// short (Node.ShutdownPhase fits them into its context).
		rep, err := g.cfg.ShutdownPhase(context.Background(), ph, deadline, goOn)
		if err != nil && rep.Root == nil {
			g.system.Root.Send(to, errMsg(callID, err))
			return
		}
		// A phase whose request failed is in the report's Errors.
		out := &exov1.GwShutdownPhaseReport{CallId: callID, Phase: m.GetPhase(), Report: ShutdownReportToProto(rep)}
		if err := fitShutdownReport(out, out.Report, nil, replyMax); err != nil {
			g.system.Root.Send(to, errMsg(callID, err))
			return
		}
		g.system.Root.Send(to, out)
	}) {
		return
	}
	a.shutdownCallStarted(s)
}

// ShutdownReportToProto puts a node's shutdown report on the wire.
func ShutdownReportToProto(r actors.ShutdownReport) *exov1.GwNodeShutdownReport {
	out := &exov1.GwNodeShutdownReport{Start: timestamppb.New(r.Start), Total: durationpb.New(r.Total),
		Root: actorReportToProto(r.Root), Forced: r.Forced, Errors: r.Errors}
	for i := range r.PhaseStart {
		out.PhaseStart = append(out.PhaseStart, timestamppb.New(r.PhaseStart[i]))
		out.PhaseDuration = append(out.PhaseDuration, durationpb.New(r.PhaseDuration[i]))
		out.PhaseDeadline = append(out.PhaseDeadline, durationpb.New(r.PhaseDeadline[i]))
		out.PhaseCoordinated = append(out.PhaseCoordinated, r.PhaseCoordinated[i])
	}
	return out
}

func actorReportToProto(r *actors.ActorReport) *exov1.GwActorReport {
	if r == nil {
		return nil
	}
	out := &exov1.GwActorReport{Name: r.Name}
	for _, p := range r.Phases {
		if p != nil {
			out.Phases = append(out.Phases, phaseReportToProto(p))
		}
	}
	for _, c := range r.Children {
		out.Children = append(out.Children, actorReportToProto(c))
	}
	return out
}

func phaseReportToProto(p *actors.PhaseReport) *exov1.GwPhaseReport {
	out := &exov1.GwPhaseReport{Actor: p.Actor, Phase: PhaseToProto(p.Phase), Start: timestamppb.New(p.Start),
		Duration: durationpb.New(p.Duration), Outcome: string(p.Outcome), Note: p.Note,
		TasksDrained: int32(p.TasksDrained), TasksFailed: int32(p.TasksFailed), TasksUnfinished: int32(p.TasksUnfinished), EventsDelivered: p.EventsDelivered}
	for _, c := range p.Children {
		out.Children = append(out.Children, phaseReportToProto(c))
	}
	return out
}

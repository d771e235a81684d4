package actors

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/exo-actors/exo-actors/actors/errhandler"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

// SourceHealth: the health monitor asked for a forced restart (kind
// unhealthy) after the runner stayed unhealthy.
const SourceHealth DetectionSource = "health"

// healthMessage marks the health monitor's messages to the runner
// supervisor and the runner actors; each Receive hands them to onHealth.
type healthMessage interface{ healthMessage() }

type (
	// healthRound asks the runner supervisor for one check of every runner:
	// it answers with a healthRoster, then each live runner answers the
	// monitor with a runnerSample.
	healthRound struct{ round uint64 }
	// healthRoster lists every runner the supervisor knows, with what the
	// supervisor alone knows about it.
	healthRoster struct {
		round   uint64
		closed  bool // the node is shutting down
		runners []rosterEntry
		// forgotten: runners retention forgot since the last roster.
		forgotten []string
	}
	rosterEntry struct {
		info RunnerInfo
		// live: a running incarnation takes messages (a runnerSample follows).
		live bool
	}
	// healthProbe asks a runner actor for its sample (sent with the
	// monitor as sender).
	healthProbe struct{ round uint64 }
	// healthRestart asks the runner supervisor to restart a runner by the
	// error policy's path (kind unhealthy: FORCE_CLEANUP then RETRY); the
	// reply is a healthRestartReply.
	healthRestart struct {
		id     string
		reason string
		score  float64
	}
	healthRestartReply struct {
		id  string
		err error
	}
	// healthFail makes a runner actor fail with kind unhealthy.
	healthFail struct{ reason string }
)

func (*healthRound) healthMessage()   {}
func (*healthProbe) healthMessage()   {}
func (*healthRestart) healthMessage() {}
func (*healthFail) healthMessage()    {}

// runnerSample is what a runner actor tells the monitor about itself.
type runnerSample struct {
	round      uint64
	id         string
	generation uint64
	pid        int
	exited     bool // the process has exited (reaped)
	status     *exov1.RunnerStatus
	// heartbeatAge is the time since the last heartbeat (since the
	// handshake before the first), on the runner clock.
	heartbeatAge time.Duration
	// handshaking: the runner has not said Hello yet. No heartbeat is
	// allowed before HelloAccepted, so the monitor leaves the runner to its
	// handshake timeout (RunnerTimeouts.Handshake) and does not score it.
	handshaking bool
	windingDown bool // failing or stopping
	stopping    bool // a stop was requested
	draining    bool // its node shuts down (SIGNALING on): no new work, its tasks finish
	queued      int
	inFlight    int
}

// onHealth answers the health monitor (supervisor side).
func (s *runnerSupervisor) onHealth(ctx actor.Context, m healthMessage) {
	switch m := m.(type) {
	case *healthRound:
		// Lean on purpose (no error records, no backoff plan): the supervisor
		// is on every Submit's path, and this runs at every check.
		r := &healthRoster{round: m.round, closed: s.closed, runners: make([]rosterEntry, 0, len(s.order)), forgotten: s.forgotten}
		s.forgotten = nil
		for _, id := range s.order {
			in := s.slots[id].info()
			w := s.waiting[id]
			in.Restarting = w != nil
			r.runners = append(r.runners, rosterEntry{info: in, live: s.children[id] != nil && w == nil})
		}
		ctx.Respond(r)
		monitor := ctx.Sender()
		for _, e := range r.runners {
			if e.live {
				ctx.RequestWithCustomSender(s.children[e.info.ID], &healthProbe{round: m.round}, monitor)
			}
		}
	case *healthRestart:
		var err error
		pid := s.children[m.id]
		switch {
		case s.slots[m.id] == nil:
			err = fmt.Errorf("%w %q", ErrUnknownRunner, m.id)
		case s.closed:
			err = ErrShuttingDown
		case s.waiting[m.id] != nil:
			err = fmt.Errorf("runner %s is already waiting to restart", m.id)
		case pid == nil:
			err = fmt.Errorf("%w: runner %s is not running", ErrRunnerNotAvailable, m.id)
		}
		if err == nil {
			ctx.Send(pid, &healthFail{reason: fmt.Sprintf("unhealthy (score %.2f): %s", m.score, m.reason)})
		}
		ctx.Respond(&healthRestartReply{id: m.id, err: err})
	}
}

// onHealth answers the health monitor (runner side).
func (a *runnerActor) onHealth(ctx actor.Context, m healthMessage) {
	switch m := m.(type) {
	case *healthProbe:
		now := a.node.runnerClock.Now()
		var age time.Duration
		if !a.lastHeartbeat.IsZero() { // zero before the handshake
			age = now.Sub(a.lastHeartbeat)
		}
		smp := &runnerSample{round: m.round, id: a.slot.id, generation: a.gen, exited: a.exit != nil || a.p == nil,
			status: a.status, heartbeatAge: age, handshaking: a.life == lifeStarting, windingDown: a.life.ending() || a.life == lifeSuspect,
			stopping: a.life == lifeStopping || a.life == lifeReleasing || a.admission == admitStopping || a.life == lifeDraining && a.drain.then == lifeStopping,
			draining: a.admission == admitShuttingDown || a.life == lifeDraining,
			queued:   len(a.slot.tasks.queue), inFlight: a.slot.tasks.inFlight}
		if a.p != nil {
			smp.pid = a.p.Pid
		}
		ctx.Respond(smp)
	case *healthFail:
		if !a.life.alive() || a.life == lifeSuspect {
			return // already going: the failure or stop in progress decides
		}
		a.fail(ctx, errhandler.KindUnhealthy, SourceHealth, "health monitor: "+m.reason, nil)
	}
}

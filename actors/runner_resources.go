package actors

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"

	"github.com/exo-actors/exo-actors/actors/resources"
	"github.com/exo-actors/exo-actors/internal/proc"
)

// registerResources registers what this generation's process holds with the
// resource manager: the process (its group) and its pipes, which close after
// it. Names carry the generation, so a restarted runner never collides with
// its predecessor's resources while those are still closing.
func (a *runnerActor) registerResources(ctx actor.Context) {
	if a.node.resourcesPID == nil || a.p == nil {
		return
	}
	p := a.p
	base := fmt.Sprintf("%s/g%d/", a.slot.id, a.gen)
	specs := []resources.Spec{
		{Name: base + "pipes", Kind: "pipes", Owner: a.slot.id, Generation: a.gen,
			Close: func(context.Context) error { p.ForceCloseOutput(); return nil }},
		{Name: base + "process", Kind: "process", Owner: a.slot.id, Generation: a.gen, DependsOn: []string{base + "pipes"},
			Close: func(context.Context) error {
				// The runner actor reaps its process before it lets go; this
				// only matters if something went wrong: kill what is left.
				if err := p.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, proc.ErrReaped) {
					return err
				}
				return nil
			}},
	}
	ctx.Request(a.node.resourcesPID, &resources.Register{Specs: specs})
}

// closeResources asks the resource manager to close everything this runner
// registered (all generations), in reverse dependency order.
func (a *runnerActor) closeResources(ctx actor.Context) {
	if a.node.resourcesPID != nil {
		ctx.Request(a.node.resourcesPID, &resources.CloseOwner{Owner: a.slot.id})
	}
}

func (a *runnerActor) onResourceReply(m any) {
	switch m := m.(type) {
	case *resources.RegisterResult:
		if m.Err != nil {
			a.log.WithError(m.Err).Warn("could not register the runner's resources")
		}
	case *resources.CloseResult:
		if m.Err != nil {
			a.log.WithFields(logrus.Fields{"reason": m.Err.Error()}).Warn("runner resources did not all close cleanly")
		}
	}
}

package actors

import (
	"context"
	"errors"
	"fmt"
	"syscall"

	"github.com/asynkron/protoactor-go/actor"

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

// closeResources asks the resource manager to close what this runner
// registered, in reverse dependency order: one generation's resources (its
// process and pipes), or with gen 0 everything it owns. Only the answer to a
// close of everything is awaited (lifeReleasing); its tag is closeTag(0).
func (a *runnerActor) closeResources(ctx actor.Context, gen uint64) {
	if a.node.resourcesPID != nil {
		ctx.Request(a.node.resourcesPID, &resources.CloseOwner{Owner: a.slot.id, Generation: gen, Tag: a.closeTag(gen)})
	}
}

// closeTag tags a close request so that its answer is recognised: only this
// generation's close of everything is awaited, and no other request carries
// its tag (an older generation's answer is noted, never applied: defect 9 of
// issue 15).
func (a *runnerActor) closeTag(gen uint64) uint64 {
	if gen != 0 {
		return 0
	}
	return a.gen
}

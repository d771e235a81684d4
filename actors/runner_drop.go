package actors

import (
	"slices"

	"github.com/exo-actors/exo-actors/internal/proc"
)

// Chunks the runner still writes for a task the node has already ended
// (the drain deadline of a stop or a shutdown cut it, or the runner did
// not confirm a Cancel in time, or cannot be told) are "late word": the
// actor drops them (onTaskFrame). A runner that floods writes thousands of
// them after the cut, up to the pipe's and its SDK's buffers (about
// 128 KiB), and the stop waits until they are all read, since the process's
// end is its stdout's end. So the actor names those tasks to the stdout
// reader (proc.Process.DropChunksOf), which skips their chunk frames
// without decoding them or handing them over: what the actor sees is the
// same, minus frames it would have dropped. Every other frame, a task's
// end and the runner's statuses included, is read as before.

// discardChunksOf adds task id to the reader's drop list (the most recent
// proc.MaxDropTasks are kept). Call it for a task that has ended here or
// ends in the same handler: the frames the reader skips from now on would
// reach this actor only after the handler, when the task has ended.
func (a *runnerActor) discardChunksOf(id string) {
	if a.p == nil || a.exit != nil || slices.Contains(a.dropChunks, id) {
		return
	}
	if len(a.dropChunks) == proc.MaxDropTasks {
		a.dropChunks = slices.Delete(a.dropChunks, 0, 1)
	}
	a.dropChunks = append(a.dropChunks, id)
	a.p.DropChunksOf(a.dropChunks)
}

// keepChunksOf takes task id off the drop list: when the runner's own end
// of the task arrives (nothing more of it follows, and the reader goes
// back to reading every frame as it is), and before a task with that ID
// is sent to the runner (its chunks are wanted again; the Task frame is
// written after the list changed, so every chunk of the new task is read
// under the new list).
func (a *runnerActor) keepChunksOf(id string) {
	i := slices.Index(a.dropChunks, id)
	if i < 0 {
		return
	}
	a.dropChunks = slices.Delete(a.dropChunks, i, i+1)
	a.p.DropChunksOf(a.dropChunks)
}

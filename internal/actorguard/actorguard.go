// Package actorguard keeps a bug in an actor's own lifecycle handler from
// wedging the supervision tree.
//
// protoactor calls an actor's handler of Stopping in the middle of the
// actor's stop: after the handler come the stop of its children, its
// removal from the process registry, Stopped, and the Terminated its parent
// and watchers wait for. A panic in the handler unwinds past all of that.
// The actor stays "stopping" for good: a second Stop is ignored, its parent
// never hears Terminated, and every stop above it (a StopRunner, the end of
// a node's Shutdown) waits until its caller's deadline
// ("stop node root: future: timeout"). Restarting is the same for a
// restart, and a panic in Stopped skips the Terminated notices.
//
// Run wraps such a handler: a panic in it is recovered, logged at error
// level with its stack as the bug it is, and returned, so that the caller
// can do what the handler did not and protoactor's stop or restart goes on.
// Ordinary messages are not wrapped: a panic there is a failure for the
// supervisor, as protoactor means it to be.
package actorguard

import (
	"fmt"
	"runtime/debug"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/sirupsen/logrus"
)

// Run calls handle, the handler of the lifecycle message msg (*actor.Stopping,
// *actor.Stopped or *actor.Restarting) of the actor who, and returns nil, or
// the value of a panic in handle, which it recovered and logged with log at
// error level (fields: actor, panic, stack). who names the actor in the log
// line ("runner actor builtin-1a2b3c", "stream actor tasks").
func Run(log logrus.FieldLogger, who string, msg any, handle func()) (panicked any) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
			log.WithFields(logrus.Fields{"actor": who, "panic": fmt.Sprint(r), "stack": string(debug.Stack())}).
				Errorf("%s panicked in its %s handler (a bug in exo-actors): recovered so that its %s goes on; what the handler had left to do may not be done",
					who, Name(msg), verb(msg))
		}
	}()
	handle()
	return nil
}

// Name is the lifecycle message's name as the log says it: "Stopping",
// "Stopped", "Restarting", or its Go type for anything else.
func Name(msg any) string {
	switch msg.(type) {
	case *actor.Stopping:
		return "Stopping"
	case *actor.Stopped:
		return "Stopped"
	case *actor.Restarting:
		return "Restarting"
	}
	return fmt.Sprintf("%T", msg)
}

func verb(msg any) string {
	if _, ok := msg.(*actor.Restarting); ok {
		return "restart"
	}
	return "stop"
}

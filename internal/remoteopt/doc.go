// Package remoteopt holds the protoactor remote settings every Remote of
// the module shares (a node's gateway, the client endpoint of
// runtime.Dial, a cluster member), where protoactor's default costs more
// than the feature needs. Today one: the endpoint writer's first queue
// size (WriterQueue).
package remoteopt

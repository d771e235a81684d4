// Package cli holds the exo-actors command tree (built with cobra), the shared
// logging flags and the mapping from errors to exit codes:
//
//	0  success
//	1  the command ran and failed; also a node that shut itself down over
//	   a node-wide fault (System.Fault: fork failure, out of file
//	   descriptors, the health monitor's node_shutdown_share), so a
//	   supervisor's restart-on-failure restarts it
//	2  usage error: unknown subcommand or flag, bad flag value
//	3  interrupted: the demo or a node got a second SIGINT or SIGTERM and
//	   forced its shutdown; bench was interrupted (children killed and
//	   reaped)
//	4  a node's graceful shutdown (one signal, or a client's request) was
//	   not clean: a phase timed out, a task was cut short or a runner
//	   forced (ExitUnclean); also `remote shutdown` when every node shut
//	   down but one or more not cleanly (1 when a node failed)
//
// Usage errors print one line naming what was wrong and how to get help.
package cli

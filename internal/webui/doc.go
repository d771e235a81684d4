// Package webui serves a live web page of one node's supervision tree, in
// the manner of Erlang's observer: the tree (node → health monitor, event
// streams, resources, runners), each runner's status, health score,
// restarts, next backoff, tasks and last error, the active alerts, and —
// only when enabled — buttons that inject a fault into a runner or stop it.
//
// The page is one HTML file with its script and style, embedded with
// go:embed: no front-end build step. It follows the node through
// server-sent events (GET /api/events: one Snapshot every Config.Interval);
// GET /api/status returns one Snapshot. The actions are POST
// /api/runners/{id}/fault and POST /api/runners/{id}/stop; they answer 403
// unless Config.Actions is set.
//
// What the server refuses, and why:
//
//   - a listen address that is not loopback, unless Config.AllowRemote
//     (CheckAddr): the page shows the node's internals and can kill its
//     processes;
//   - unless Config.AllowRemote, a request whose Host header is not a
//     loopback name or one of Config.AllowHosts (403,
//     httpserve.LoopbackNamesOnly, as the HTTP endpoints on loopback): a
//     guard against DNS rebinding;
//   - a POST without a JSON body, or whose Origin is another site (415,
//     403): a page elsewhere cannot press the buttons through the browser;
//   - more than Config.MaxClients open event streams (503).
//
// A fault is injected from the node's side: "crash" sends SIGKILL to the
// runner's process, "hang" sends SIGSTOP (the heartbeat stops; the health
// monitor or the runner's watchdog restarts it), "garbage" submits a task
// with the built-in runner's fault knob fault=garbage (other runner
// programs ignore it). Each action names the generation the page saw; a
// runner restarted since is refused with 409, so a stale page never signals
// a new process.
package webui

// Package httpapi serves a node's operational endpoints over HTTP:
//
//	/healthz   200 while the actor system answers (liveness), else 503
//	/readyz    200 when at least HTTPConfig.ReadyRunners runners are Ready
//	           or Running, else 503; the body says how many are
//	/metrics   Prometheus text format, from the node's own registry
//	/status    JSON: the supervision tree with each actor's state, and per
//	           runner its status, health score and components, restarts,
//	           next backoff, recoveries and error records (StatusDoc; schema
//	           in status.schema.json, documented in docs/operations.md)
//
// The server listens on loopback unless the address names another host
// (":9464" means 127.0.0.1:9464). It is off unless the host sets
// HTTPConfig.Addr or the CLI gets --http (which refuses a host that is not
// loopback unless --http-allow-remote, see httpserve.LoopbackHost). On
// loopback the endpoints answer only requests whose Host is a loopback
// name, against DNS rebinding (httpserve.LoopbackNamesOnly; the web page
// does the same); on another address any Host. Each response has
// HTTPConfig.WriteTimeout (see internal/httpserve for the bounds).
package httpapi

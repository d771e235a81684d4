package cli

import (
	exo "github.com/exo-actors/exo-actors/runtime"
)

// nodeHealthConfig is the node's exo.HealthConfig: the endpoints and the
// webhook of the flags (node_http.go), the webhook's sender named by
// --name.
func nodeHealthConfig(o nodeOptions, nc *nodeConfig) exo.HealthConfig {
	hc := o.http.healthConfig()
	hc.Webhook.Node = o.name
	return hc
}

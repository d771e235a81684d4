package httpapi

// ServeOn serves a node's endpoints on a listener the test made (e.g.
// testutil.WatchConns), as Start does on its own.
var ServeOn = serve

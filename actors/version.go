package actors

// Version is the exo-actors version a node reports: in exo_build_info and
// in the alert webhook's User-Agent (exo-actors/<Version>). The exo-actors
// command sets it to its own version (internal/cli.Version) at start;
// a host embedding runtime may set it before runtime.New.
var Version = "0.1.0-dev"

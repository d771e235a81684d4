package membership

import (
	"net"
	"strconv"
)

// warnPeers logs PeerMismatch's warning on the peers' answers of a check
// at warn level when it changed (a new one, or a different one); a
// warning that went away is logged at info level once. Runs on the
// member actor.
func (a *memberActor) warnPeers(ev Evidence) {
	if a.cfg.Provider != ProviderAutomanaged || ev.PeerConfigs == nil {
		return
	}
	own := net.JoinHostPort(a.cfg.Host, strconv.Itoa(a.cfg.ManagePort))
	w := PeerMismatch(a.cfg.Cluster, own, a.cfg.Peers, ev.PeerConfigs)
	if w == a.peerWarn {
		return
	}
	switch {
	case w != "":
		a.log.Warn("cluster " + a.cfg.Cluster + ": " + w)
	default:
		a.log.Info("cluster " + a.cfg.Cluster + ": the peers' cluster name and peer lists agree now")
	}
	a.peerWarn = w
}

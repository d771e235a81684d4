package membership

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// CheckQuery returns the error QueryStatus would return for cfg's values
// (no cluster name, no peers or endpoints, a bad peer address) without
// asking anyone.
func CheckQuery(cfg Config) error {
	_, err := queryConfig(cfg)
	return err
}

// queryConfig validates cfg for a status query and fills its defaults.
func queryConfig(cfg Config) (Config, error) {
	if cfg.NodeName == "" {
		cfg.NodeName = "status"
	}
	peers := cfg.Peers
	if cfg.Provider == "" || cfg.Provider == ProviderAutomanaged {
		if len(cfg.Peers) == 0 {
			return cfg, fmt.Errorf("automanaged needs the peers' HTTP addresses (%s host:port,...), got none", cfg.setting("--cluster-peers"))
		}
		for _, p := range cfg.Peers {
			if _, _, err := splitHostPort(p); err != nil {
				return cfg, fmt.Errorf("bad peer %q: want host:port (%v)", p, err)
			}
		}
		// The validation wants this member's own port among the peers; a
		// status query has none: validate with a stand-in.
		cfg.Host, cfg.ManagePort = DefaultHost, 1
		cfg.Peers = append(slices.Clone(peers), "127.0.0.1:1")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return cfg, err
	}
	cfg.Peers = peers
	return cfg, nil
}

// PeerView is what one automanaged peer answered to a status query.
type PeerView struct {
	// Peer is the automanaged HTTP address asked.
	Peer string `json:"peer"`
	// View is its answer; Error is set instead when it did not answer.
	View  *View  `json:"view,omitempty"`
	Error string `json:"error,omitempty"`
}

// Status is the cluster as `exo-actors cluster status` reports it.
type Status struct {
	Cluster  string   `json:"cluster"`
	Provider Provider `json:"provider"`
	// Members are the members: with automanaged, those in the view of the
	// reachable peers (the union, so a disagreement shows as Agree false);
	// with etcd, the keys protoactor's provider registered.
	Members []Member `json:"members"`
	// Peers are the automanaged peers' own answers (empty with etcd).
	Peers []PeerView `json:"peers,omitempty"`
	// Agree is true when every reachable automanaged peer is Joined and
	// reports the same member IDs (always true with etcd).
	Agree bool `json:"agree"`
	// EtcdClusters, with etcd when Cluster has no member, are the clusters
	// etcd holds under the base key, as name → member count (a misspelt
	// name finds the right one here; empty when etcd holds none).
	EtcdClusters map[string]int `json:"etcd_clusters,omitempty"`
}

// QueryStatus asks the cluster described by cfg who its members are,
// without joining it: automanaged peers are asked for their view over HTTP
// (/exo/view), etcd is read. Only Cluster, Provider, Peers, EtcdEndpoints,
// EtcdBaseKey and EtcdDialTimeout of cfg are used.
func QueryStatus(ctx context.Context, cfg Config) (Status, error) {
	return QueryStatusVia(ctx, cfg, nil)
}

// QueryStatusVia is QueryStatus asking automanaged peers with hc (nil: a
// client with a 2 s timeout on http.DefaultTransport). A caller that reads
// again and again for a while (runtime.ClusterClient) gives its own client
// on its own Transport and closes its idle connections when it is done:
// on http.DefaultTransport they are the process's, kept up to 90 s after
// the last read (two goroutines each).
func QueryStatusVia(ctx context.Context, cfg Config, hc *http.Client) (Status, error) {
	cfg, err := queryConfig(cfg)
	if err != nil {
		return Status{}, err
	}
	st := Status{Cluster: cfg.Cluster, Provider: cfg.Provider, Members: []Member{}, Agree: true}
	switch cfg.Provider {
	case ProviderEtcd:
		cli, err := checkEtcdCtx(ctx, cfg, true)
		if err != nil {
			return st, err
		}
		defer cli.Close()
		qctx, cancel := context.WithTimeout(ctx, cfg.EtcdDialTimeout)
		defer cancel()
		ms, err := etcdMembers(qctx, cli, cfg)
		if err != nil {
			return st, fmt.Errorf("read members of cluster %s from etcd at %s: %w", cfg.Cluster, strings.Join(cfg.EtcdEndpoints, ","), err)
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].ID < ms[j].ID })
		st.Members = append(st.Members, ms...)
		if len(ms) == 0 {
			// Said when asked (DescribeOtherClusters); a failed read of
			// the names is no failure of the query.
			st.EtcdClusters, _ = etcdClusters(qctx, cli, cfg)
		}
		return st, nil
	default:
		if hc == nil {
			// One query: no connection to keep (none left idle).
			hc = &http.Client{Timeout: 2 * time.Second, Transport: WriteFirst(&http.Transport{Proxy: http.ProxyFromEnvironment, DisableKeepAlives: true})}
		}
		st.Peers = make([]PeerView, len(cfg.Peers))
		var wg sync.WaitGroup
		for i, p := range cfg.Peers {
			wg.Add(1)
			go func() { // owner: QueryStatus, which waits
				defer wg.Done()
				var v View
				if err := getJSON(ctx, hc, "http://"+p+"/exo/view", &v); err != nil {
					st.Peers[i] = PeerView{Peer: p, Error: err.Error()}
					return
				}
				st.Peers[i] = PeerView{Peer: p, View: &v}
			}()
		}
		wg.Wait()
		seen := map[string]bool{}
		var first string
		answered := 0
		for _, pv := range st.Peers {
			if pv.View == nil {
				continue
			}
			answered++
			if pv.View.Cluster != cfg.Cluster || pv.View.State != Joined {
				st.Agree = false
				continue
			}
			var ids []string
			for _, m := range pv.View.Members {
				ids = append(ids, m.ID)
				if !seen[m.ID] {
					seen[m.ID] = true
					st.Members = append(st.Members, m)
				}
			}
			key := strings.Join(ids, ",")
			if first == "" {
				first = key
			} else if key != first {
				st.Agree = false
			}
		}
		if answered == 0 {
			return st, cfg.NoAnswer(st.Peers)
		}
		sort.Slice(st.Members, func(i, j int) bool { return st.Members[i].ID < st.Members[j].ID })
		return st, nil
	}
}

// NoAnswer is the error of a read of automanaged peers that none answered:
// it names each peer's failure in short (before, the cause was dropped: a
// refused connection and a gateway address given for a cluster port read
// alike) and what --cluster-peers wants.
func NoAnswer(cluster string, views []PeerView) error {
	return Config{Cluster: cluster}.NoAnswer(views)
}

// NoAnswer is the package's NoAnswer for the cluster c names, in c's words
// (GoAPI: ClusterConfig.Peers instead of --cluster-peers).
func (c Config) NoAnswer(views []PeerView) error {
	cluster := c.Cluster
	var peers, why []string
	for _, pv := range views {
		peers = append(peers, pv.Peer)
		if pv.View == nil {
			why = append(why, pv.Peer+": "+peerFailure(pv.Error))
		}
	}
	if len(why) == 1 {
		_, why[0], _ = strings.Cut(why[0], ": ")
	}
	return fmt.Errorf("no member of cluster %s answered at %s (%s): is a member running there? %s names each member's HTTP port (its --cluster-port), not its gateway (--listen)",
		cluster, strings.Join(peers, ","), strings.Join(why, "; "), c.setting("--cluster-peers"))
}

// peerFailure says in short why a peer's /exo/view read failed.
func peerFailure(e string) string {
	switch {
	case e == "":
		return "no answer"
	case strings.Contains(e, "connection refused"):
		return "connection refused"
	case strings.Contains(e, "malformed HTTP") || strings.Contains(e, "HTTP/1.x transport connection broken"):
		return "it answers, but not over HTTP/1: a node's gateway (--listen)?"
	case strings.Contains(e, "HTTP 404"):
		return "HTTP 404: not a cluster member's HTTP port"
	case strings.Contains(e, "Client.Timeout") || strings.Contains(e, "deadline exceeded"):
		return "no answer in time"
	}
	return e
}

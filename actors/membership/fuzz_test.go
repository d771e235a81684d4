package membership

import (
	"strings"
	"testing"
)

// FuzzConfig feeds arbitrary flag values to the validation: it never panics,
// and every refusal is one line.
func FuzzConfig(f *testing.F) {
	f.Add("c", "n", "llm,tts", "automanaged", 7001, "127.0.0.1:7001,127.0.0.1:7002", "")
	f.Add("c", "n", "", "etcd", 0, "", "127.0.0.1:2379")
	f.Add("", "x y", "a,a", "zk", -1, "h:0,:1", " ")
	f.Fuzz(func(t *testing.T, cluster, node, kinds, provider string, port int, peers, endpoints string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		c := Config{Cluster: cluster, NodeName: node, Kinds: split(kinds), Provider: Provider(provider),
			ManagePort: port, Peers: split(peers), EtcdEndpoints: split(endpoints)}
		if err := c.Validate(); err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("error is not one line: %q", err)
		}
	})
}

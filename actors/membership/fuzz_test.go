package membership

import (
	"strings"
	"testing"
)

// FuzzConfig feeds arbitrary flag values to the validation: it never
// panics; every refusal is one line (a value holding a newline is quoted,
// never written raw, so a peer, gateway or endpoint "a\nb" does not split
// the message); and what it accepts, its defaults filled, it accepts again
// unchanged in the fields it checked, with every peer and the gateway a
// host:port of a port 1-65535.
func FuzzConfig(f *testing.F) {
	f.Add("c", "n", "llm,tts", "automanaged", 7001, "127.0.0.1:7001,127.0.0.1:7002", "", "", "")
	f.Add("c", "n", "", "etcd", 0, "", "127.0.0.1:2379", "127.0.0.1:7101", "10.0.0.5")
	f.Add("", "x y", "a,a", "zk", -1, "h:0,:1", " ", "g", "0.0.0.0")
	f.Add("c", "n", "", "automanaged", 7001, "127.0.0.1:7001,a\nb", "", "", "")
	f.Add("c", "n", "", "etcd", 0, "", "e", "a\nb", "")
	f.Fuzz(func(t *testing.T, cluster, node, kinds, provider string, port int, peers, endpoints, gateway, host string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		c := Config{Cluster: cluster, NodeName: node, Kinds: split(kinds), Provider: Provider(provider),
			ManagePort: port, Peers: split(peers), EtcdEndpoints: split(endpoints), Gateway: gateway, Host: host}
		d, err := c.withDefaults()
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("accepted %+v, but not once defaulted: %v", c, err)
		}
		if d.Gateway != "" {
			if _, _, err := splitHostPort(d.Gateway); err != nil {
				t.Fatalf("gateway %q accepted: %v", d.Gateway, err)
			}
		}
		if d.Provider == ProviderAutomanaged {
			for _, p := range d.Peers {
				if _, port, err := splitHostPort(p); err != nil || port < 1 || port > 65535 {
					t.Fatalf("peer %q accepted: %v", p, err)
				}
			}
		}
	})
}

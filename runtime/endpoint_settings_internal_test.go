package runtime

import (
	"crypto/tls"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/actors/gateway"
)

// TestEndpointSettingsDifferences: a Dial whose settings differ from the
// process's endpoint is told which, with both values and the option, and
// never a pointer. Before, the error printed the endpoint's settings alone
// ("TLS configs 0x0 0x0"), the same for every difference (a new user's
// trial).
func TestEndpointSettingsDifferences(t *testing.T) {
	base := endpointSettings{listen: "127.0.0.1:17151", maxMessage: 4 << 20}
	files := gateway.TLSFiles{CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "c.key"}
	cfgA, cfgB := &tls.Config{}, &tls.Config{}
	for _, tt := range []struct {
		name  string
		have  endpointSettings
		asked endpointSettings
		want  []string // "": want no difference
	}{
		{"same", base, base, nil},
		{"listen", base, endpointSettings{listen: "127.0.0.1:17153", maxMessage: 4 << 20},
			[]string{"it listens on 127.0.0.1:17151, this Dial asks for 127.0.0.1:17153 (WithClientListen)"}},
		{"message limit", base, endpointSettings{listen: base.listen, maxMessage: 1 << 20},
			[]string{"its message limit is 4194304 bytes, this Dial asks for 1048576 (WithMaxMessage)"}},
		{"TLS on", base, endpointSettings{listen: base.listen, maxMessage: 4 << 20, tlsFiles: files},
			[]string{"it runs with no TLS, this Dial asks for TLS (WithTLS, WithTLSConfig)"}},
		{"TLS files", endpointSettings{listen: base.listen, maxMessage: 4 << 20, tlsFiles: files},
			endpointSettings{listen: base.listen, maxMessage: 4 << 20, tlsFiles: gateway.TLSFiles{CAFile: "ca.pem", CertFile: "d.pem", KeyFile: "d.key"}},
			[]string{`it uses the TLS files CA "ca.pem", certificate "c.pem", key "c.key", this Dial asks for CA "ca.pem", certificate "d.pem", key "d.key" (WithTLS)`}},
		{"TLS configs", endpointSettings{listen: base.listen, maxMessage: 4 << 20, serverTLS: cfgA, clientTLS: cfgA},
			endpointSettings{listen: base.listen, maxMessage: 4 << 20, serverTLS: cfgB, clientTLS: cfgB},
			[]string{"this Dial passes other *tls.Config values than the first (WithTLSConfig: pass the same two to every Dial)"}},
		{"TLS files then configs", endpointSettings{listen: base.listen, maxMessage: 4 << 20, tlsFiles: files},
			endpointSettings{listen: base.listen, maxMessage: 4 << 20, serverTLS: cfgA, clientTLS: cfgA},
			[]string{"it was given TLS files (WithTLS), this Dial *tls.Config values (WithTLSConfig): use one way for every Dial"}},
	} {
		got := tt.have.differences(tt.asked)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
		for _, g := range got {
			if strings.Contains(g, "0x") {
				t.Errorf("%s: %q prints a pointer", tt.name, g)
			}
		}
	}
}

package runtime_test

import (
	"context"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
	exo "github.com/exo-actors/exo-actors/runtime"
)

// TestOwnCertAdviceForAListenWithoutHost: a client listening on every
// address (WithClientListen ":7000" or "0.0.0.0:7000") has no host to
// check its certificate's subjectAltName against, so a certificate
// refused for its usages gets advice that says what the SAN must name,
// not "subjectAltName=IP:" (empty) or "subjectAltName=IP:0.0.0.0", which
// no peer accepts (the advice before).
func TestOwnCertAdviceForAListenWithoutHost(t *testing.T) {
	p, err := testutil.WritePKI(t.TempDir(), "client", []net.IP{net.ParseIP("127.0.0.1")}, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth})
	if err != nil {
		t.Fatal(err)
	}
	for _, listen := range []string{":7000", "0.0.0.0:7000", "[::]:7000"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := exo.Dial(ctx, "127.0.0.1:1", exo.WithTLS(exo.TLSFiles{CAFile: p.CA, CertFile: p.Cert, KeyFile: p.Key}), exo.WithClientListen(listen))
		cancel()
		if err == nil {
			t.Fatalf("listen %s: Dial succeeded", listen)
		}
		msg := err.Error()
		for _, w := range []string{"its extended key usages lack clientAuth", "reissue it with the extension extendedKeyUsage=serverAuth,clientAuth and a subjectAltName naming the address its peers reach it at, e.g. subjectAltName=IP:192.0.2.10",
			`(the listen address "` + listen + `" names no host to check against`} {
			if !strings.Contains(msg, w) {
				t.Errorf("listen %s: %q: want %q", listen, msg, w)
			}
		}
		if strings.Contains(msg, "subjectAltName=IP: ") || strings.Contains(msg, "IP:0.0.0.0") || strings.Contains(msg, "IP:::") {
			t.Errorf("listen %s: %q names no usable SAN", listen, msg)
		}
	}
}

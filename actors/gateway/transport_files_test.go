package gateway_test

import (
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/actors/gateway"
	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestConfigsKeyNotTheCertificates: a key that is not the certificate's
// says so and what to give, not crypto/tls's bare "private key does not
// match public key" (a new user's trial, tenth session).
func TestConfigsKeyNotTheCertificates(t *testing.T) {
	a, err := testutil.WritePKI(t.TempDir(), "a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := testutil.WritePKI(t.TempDir(), "b", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = gateway.TLSFiles{CAFile: a.CA, CertFile: a.Cert, KeyFile: b.Key}.Configs()
	want := "TLS certificate " + a.Cert + " / key " + b.Key + ": tls: private key does not match public key: the key is not the one the certificate was issued for; give the key file made with this certificate"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Configs: %v\nwant %q…", err, want)
	}
}

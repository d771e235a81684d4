package gateway_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
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

// TestConfigsKeyOfAnotherType: an RSA key given for an EC certificate gets
// the same advice as another EC key. Before, crypto/tls's "private key
// type does not match public key type" came bare (a new user's trial).
func TestConfigsKeyOfAnotherType(t *testing.T) {
	a, err := testutil.WritePKI(t.TempDir(), "a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := filepath.Join(t.TempDir(), "rsa.key")
	if err := os.WriteFile(rsaKey, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err = gateway.TLSFiles{CAFile: a.CA, CertFile: a.Cert, KeyFile: rsaKey}.Configs()
	want := "TLS certificate " + a.Cert + " / key " + rsaKey + ": tls: private key type does not match public key type: the key is not the one the certificate was issued for; give the key file made with this certificate"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Configs: %v\nwant %q…", err, want)
	}
}

// TestConfigsNamesEveryUnreadableFile: every one of the three files that
// cannot be opened is named at once (an operator's trial with three wrong
// paths was told of the CA only).
func TestConfigsNamesEveryUnreadableFile(t *testing.T) {
	a, err := testutil.WritePKI(t.TempDir(), "a", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, cert, key := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	_, _, err = gateway.TLSFiles{CAFile: ca, CertFile: cert, KeyFile: key}.Configs()
	want := "TLS CA: open " + ca + ": no such file or directory; TLS certificate: open " + cert + ": no such file or directory; TLS key: open " + key + ": no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("Configs: %v\nwant %s", err, want)
	}
	_, _, err = gateway.TLSFiles{CAFile: a.CA, CertFile: a.Cert, KeyFile: key}.Configs()
	if want := "TLS key: open " + key + ": no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("Configs with the key missing: %v\nwant %s", err, want)
	}
}

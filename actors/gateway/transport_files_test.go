package gateway_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/actors/gateway"
)

// TestConfigsKeyNotTheCertificates: a key that is not the certificate's
// says so and what to give, not crypto/tls's bare "private key does not
// match public key" (a new user's trial, tenth session).
func TestConfigsKeyNotTheCertificates(t *testing.T) {
	dir := t.TempDir()
	key1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	key2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key1.PublicKey, key1)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key2)
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca, key := write("ca.pem", "CERTIFICATE", der), write("other.key", "EC PRIVATE KEY", kb)
	_, _, err = gateway.TLSFiles{CAFile: ca, CertFile: ca, KeyFile: key}.Configs()
	want := "TLS certificate " + ca + " / key " + key + ": tls: private key does not match public key: the key is not the one the certificate was issued for; give the key file made with this certificate"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Configs: %v\nwant %q…", err, want)
	}
}

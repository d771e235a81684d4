package runtime

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/exo-actors/exo-actors/actors/gateway"
)

// defaultClientListen is where a client's endpoint listens unless
// WithClientListen says otherwise.
const defaultClientListen = "127.0.0.1:0"

// checkOwnCert checks this client's own certificate before any dial.
// protoactor remote sends a node's answers over a connection the node
// dials back to the client's listener (listen), so the client's
// certificate serves twice: as a client's when the client dials, as a
// server's when the node dials back. It must name the listen address in
// its subjectAltName and, when it lists extended key usages, allow both
// serverAuth and clientAuth. Without that the node refuses the way back,
// logs why, and the client only sees a hello that never gets an answer.
// name says where the certificate came from; cert is nil when there is
// none to check; usages false checks the subjectAltName alone (a
// WithTLSConfig server certificate, which need not be the client's).
func checkOwnCert(name string, cert *tls.Certificate, listen string, usages bool) error {
	return checkCertFor("client", name, cert, listen, usages)
}

// checkNodeCert is checkOwnCert for a node's certificate, when it starts:
// clients check it as a server's when they dial the node, and they check
// it as a client's when the node dials back to them (a client with TLS
// requires a certificate from its CA on its listener), so it needs the
// same subjectAltName and usages.
func checkNodeCert(name string, cert *tls.Certificate, listen string) error {
	return checkCertFor("node", name, cert, listen, true)
}

// checkCertFor is the check of checkOwnCert and checkNodeCert; role is
// "client" or "node".
func checkCertFor(role, name string, cert *tls.Certificate, listen string, usages bool) error {
	if cert == nil || len(cert.Certificate) == 0 {
		return nil
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("this %s's certificate %s cannot be parsed: %w", role, name, err)
		}
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	var problems []string
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		if leaf.VerifyHostname(host) != nil {
			what := "IP"
			if ip == nil {
				what = "DNS name"
			}
			problems = append(problems, fmt.Sprintf("it does not name %s %s (the address this %s listens on) in its subjectAltName", what, host, role))
		}
	}
	if lack := lackingUsages(leaf); usages && len(lack) > 0 {
		problems = append(problems, "its extended key usages lack "+strings.Join(lack, " and "))
	}
	if len(problems) == 0 {
		return nil
	}
	san := "IP:" + host
	if net.ParseIP(host) == nil {
		san = "DNS:" + host
	}
	why := "the node checks it as a client's when this client dials and as a server's when the node connects back to this client's listener to answer it"
	if role == "node" {
		why = "clients check it as a server's when they dial this node and as a client's when this node connects back to their listeners to answer them"
	}
	return fmt.Errorf("this %s's certificate %s: %s; %s; reissue it with the extensions subjectAltName=%s and extendedKeyUsage=serverAuth,clientAuth (openssl x509 -req … -extfile FILE with those two lines)",
		role, name, strings.Join(problems, ", and "), why, san)
}

// lackingUsages names the extended key usages among serverAuth and
// clientAuth that a certificate listing some does not allow (none listed,
// or "any": every usage is allowed).
func lackingUsages(c *x509.Certificate) []string {
	if len(c.ExtKeyUsage) == 0 && len(c.UnknownExtKeyUsage) == 0 {
		return nil
	}
	if slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return nil
	}
	var lack []string
	if !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		lack = append(lack, "serverAuth")
	}
	if !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		lack = append(lack, "clientAuth")
	}
	return lack
}

// firstCert is a TLS config's first certificate, or nil.
func firstCert(c *tls.Config) *tls.Certificate {
	if c == nil || len(c.Certificates) == 0 {
		return nil
	}
	return &c.Certificates[0]
}

// CheckClientCert loads f and checks the client's own certificate as Dial
// does before any connection, for a client listening on the default
// address (127.0.0.1, WithClientListen not given): an IP SAN 127.0.0.1 and,
// when it lists extended key usages, both serverAuth and clientAuth. A
// command line checks it once, before dialing its nodes.
func CheckClientCert(f TLSFiles) error {
	_, cli, err := gateway.TLSFiles(f).Configs()
	if err != nil {
		return err
	}
	return checkOwnCert(f.CertFile+" (TLSFiles.CertFile; --tls-cert on the command line)", firstCert(cli), defaultClientListen, true)
}

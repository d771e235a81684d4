package runtime

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

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
func checkOwnCert(name string, cert *tls.Certificate, listen string, usages bool, roots *x509.CertPool, caName string) error {
	return checkCertFor("client", name, cert, listen, usages, roots, caName)
}

// checkNodeCert is checkOwnCert for a node's certificate, when it starts:
// clients check it as a server's when they dial the node, and they check
// it as a client's when the node dials back to them (a client with TLS
// requires a certificate from its CA on its listener), so it needs the
// same subjectAltName and usages.
func checkNodeCert(name string, cert *tls.Certificate, listen string, roots *x509.CertPool, caName string) error {
	return checkCertFor("node", name, cert, listen, true, roots, caName)
}

// checkCertFor is the check of checkOwnCert and checkNodeCert; role is
// "client" or "node". roots (named caName), when set, is the CA given with
// the certificate, which must have signed it (nil: a caller's own TLS
// config, not checked).
func checkCertFor(role, name string, cert *tls.Certificate, listen string, usages bool, roots *x509.CertPool, caName string) error {
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
	// Its dates and its CA: peers refuse an expired certificate, or one
	// their CA did not sign, but only the node's log says so (a client
	// whose certificate the node cannot verify when it connects back
	// waits out its dial timeout, "did not answer the hello"); checked
	// here, the mistake is named before anything listens or dials.
	now := time.Now()
	var fixes []string // what to do about the dates and the CA
	sanOrUsage := len(problems) > 0
	switch {
	case now.After(leaf.NotAfter):
		fixes = append(fixes, "renew it")
		problems = append(problems, fmt.Sprintf("it expired on %s (now %s)", leaf.NotAfter.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
	case now.Before(leaf.NotBefore):
		problems = append(problems, fmt.Sprintf("it is not valid before %s (now %s: is this machine's clock right?)", leaf.NotBefore.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339)))
		fixes = append(fixes, "wait until it is valid, or reissue it valid from now")
	}
	if roots != nil && now.After(leaf.NotBefore) && now.Before(leaf.NotAfter) {
		inter := x509.NewCertPool()
		for _, der := range cert.Certificate[1:] {
			if c, err := x509.ParseCertificate(der); err == nil {
				inter.AddCert(c)
			}
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			var ua x509.UnknownAuthorityError
			if errors.As(err, &ua) {
				problems = append(problems, fmt.Sprintf("it is not signed by the CA given with it (%s): every peer checks the others' certificates against that one CA", caName))
				fixes = append(fixes, "use a certificate and key signed by that CA (or give the CA that signed this one, if every peer trusts it)")
			} else {
				problems = append(problems, fmt.Sprintf("it does not verify against the CA given with it (%s): %v", caName, err))
				fixes = append(fixes, "reissue it from that CA (with any intermediate certificates after it in the file)")
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	why := "the node checks it as a client's when this client dials and as a server's when the node connects back to this client's listener to answer it"
	if role == "node" {
		why = "clients check it as a server's when they dial this node and as a client's when this node connects back to their listeners to answer them"
	}
	if sanOrUsage {
		fixes = append(fixes, reissueAdvice(host, listen))
	}
	return fmt.Errorf("this %s's certificate %s: %s; %s; %s",
		role, name, strings.Join(problems, ", and "), why, strings.Join(fixes, "; "))
}

// reissueAdvice says which extensions a reissued certificate needs. For a
// listen address with a host, the subjectAltName is that host's; one with
// no host (":7000") or an unspecified one ("0.0.0.0:7000") names no
// address peers reach, so the advice cannot name the SAN's value and says
// what it must be instead (before, it advised "subjectAltName=IP:" and
// "subjectAltName=IP:0.0.0.0", neither of which a peer accepts).
func reissueAdvice(host, listen string) string {
	const usages = "extendedKeyUsage=serverAuth,clientAuth"
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return fmt.Sprintf("reissue it with the extension %s and a subjectAltName naming the address its peers reach it at, e.g. subjectAltName=IP:192.0.2.10 (the listen address %q names no host to check against: it listens on every address) (openssl x509 -req … -extfile FILE with those two lines)",
			usages, listen)
	}
	san := "IP:" + host
	if net.ParseIP(host) == nil {
		san = "DNS:" + host
	}
	return fmt.Sprintf("reissue it with the extensions subjectAltName=%s and %s (openssl x509 -req … -extfile FILE with those two lines)", san, usages)
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

// CheckNodeCert loads f and checks a node's own certificate as Serve does
// before it listens on listen: an IP SAN for listen's host and, when it
// lists extended key usages, both serverAuth and clientAuth (clients
// check it as a server's when they dial the node and as a client's when
// the node dials back to them). A command line checks it with its other
// flags, so a refused certificate is a usage error like the client's.
func CheckNodeCert(f TLSFiles, listen string) error {
	_, cli, err := gateway.TLSFiles(f).Configs()
	if err != nil {
		return err
	}
	return checkNodeCert(f.CertFile+" (ServeConfig.TLS.CertFile; --tls-cert on the command line)", firstCert(cli), listen, cli.RootCAs, f.CAFile)
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
	return checkOwnCert(f.CertFile+" (TLSFiles.CertFile; --tls-cert on the command line)", firstCert(cli), defaultClientListen, true, cli.RootCAs, f.CAFile)
}

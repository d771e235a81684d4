package cli

import (
	"errors"
	"strings"

	"github.com/exo-actors/exo-actors/actors/gateway"
)

// tlsDoc is where a refused certificate's fix is described: the see-also
// of the usage error of a node's or a client's own certificate check.
const tlsDoc = `docs/remote.md, "The same with mutual TLS"`

// tlsFlagNames maps the TLSFiles fields to this command line's flags.
var tlsFlagNames = map[string]string{"CAFile": "--tls-ca", "CertFile": "--tls-cert", "KeyFile": "--tls-key"}

// checkTLSFlags loads the --tls-* files when any is given and returns a
// usage error naming the flags (not the Go fields) when some are missing,
// or the file that cannot be loaded.
func checkTLSFlags(f gateway.TLSFiles) error {
	if !f.Enabled() {
		return nil
	}
	_, _, err := f.Configs()
	var me *gateway.TLSFilesMissingError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &me):
		flags := make([]string, len(me.Missing))
		for i, m := range me.Missing {
			flags[i] = tlsFlagNames[m]
		}
		verb, obj := "are", "them"
		if len(flags) == 1 {
			verb, obj = "is", "it"
		}
		list := strings.Join(flags, " and ")
		if len(flags) == 3 {
			list = flags[0] + ", " + flags[1] + " and " + flags[2]
		}
		return usageErrorf("TLS needs all three of --tls-ca, --tls-cert and --tls-key, but %s %s missing; give %s, or none of the three for plaintext", list, verb, obj)
	}
	return &UsageError{Err: err, SeeAlso: tlsDoc} // a file that cannot be loaded: how to make them is there
}

package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// emptyEntry is the usage error for a comma-separated list of addresses
// (--node, --cluster-peers, --etcd-endpoints) with an empty entry: a comma
// at the start or end, or two in a row. It names the flag, the list and
// the entry's position (1-based, across every use of the flag), e.g.
// `--node "127.0.0.1:7101,": entry 2 of 2 is empty`. nil when no entry is
// empty. Before, the entry was checked as an address and the error quoted
// it bare (`node address "": want the node's HOST:PORT`; a newcomer's
// trial had left a trailing comma).
func emptyEntry(flag string, list []string, example string) error {
	for i, a := range list {
		if strings.TrimSpace(a) != "" {
			continue
		}
		if len(list) == 1 { // no comma: an empty value
			return usageErrorf("--%s %q is empty (a variable that expanded to nothing?): give an address, e.g. --%s %s",
				flag, a, flag, strings.Split(example, ",")[0])
		}
		return usageErrorf("--%s %q: entry %d of %d is empty (a comma at the start or end of the list, two in a row, or an empty value?): "+
			"give each address once, comma-separated, e.g. --%s %s", flag, strings.Join(list, ","), i+1, len(list), flag, example)
	}
	return nil
}

// addrsValue is the value of --node, --cluster-peers and --etcd-endpoints:
// addresses, repeated or comma-separated, kept as given, empty entries
// included, for emptyEntry and the address checks to name. pflag's string
// slice dropped an empty value (`--node ""`, a variable that expanded to
// nothing): `--node a --node ""` ran with one node and `--node ""` alone
// said "no --node". A value that looks like a flag is refused where it
// stands: pflag takes the next argument as the value, so an unquoted
// variable that expanded to nothing swallowed the flag after it
// (`--node $ADDR --tasks 5`).
// typ is the value's name in the help, e.g. HOST:PORT; example, one
// address.
type addrsValue struct {
	list         *[]string
	typ, example string
}

func (v addrsValue) String() string { return strings.Join(*v.list, ",") }
func (v addrsValue) Type() string   { return v.typ }

func (v addrsValue) Set(s string) error {
	if err := flagLike(s, "an address", v.example); err != nil {
		return err
	}
	*v.list = append(*v.list, strings.Split(s, ",")...)
	return nil
}

// offWhenEmpty are the string flags whose empty value means "off": left
// out, the feature is not used. Given empty (`--tls-ca "$CA"` with CA
// unset), the command ran without it, silently: a node in plaintext, a node
// without its /metrics or its alert webhook (an SRE's trial: `--http ""`).
// Given empty they are refused (emptyOffFlag).
var offWhenEmpty = map[string]string{
	"http":            "an address, e.g. --http 127.0.0.1:9464",
	"ui":              "an address, e.g. --ui 127.0.0.1:8080",
	"alert-webhook":   "a URL, e.g. --alert-webhook http://127.0.0.1:9000/alerts",
	"tls-ca":          "a PEM file, e.g. --tls-ca ca.pem",
	"tls-cert":        "a PEM file, e.g. --tls-cert node.pem",
	"tls-key":         "a PEM file, e.g. --tls-key node-key.pem",
	"gateway-address": "an address, e.g. --gateway-address 127.0.0.1:7101",
	"cpuprofile":      "a file, e.g. --cpuprofile cpu.out",
}

// emptyOffFlag refuses a flag of offWhenEmpty given with an empty value.
func emptyOffFlag(fs *pflag.FlagSet) error {
	var err error
	fs.Visit(func(f *pflag.Flag) { // the flags given, in name order
		if want, ok := offWhenEmpty[f.Name]; ok && err == nil && strings.TrimSpace(f.Value.String()) == "" {
			err = usageErrorf("--%s %q is empty (a variable that expanded to nothing?): give %s, or leave the flag out", f.Name, f.Value.String(), want)
		}
	})
	return err
}

// requiredFlag is the usage error of a required flag that has no value:
// given empty (`--addr "$ADDR"` with ADDR unset) it says so, as
// emptyOffFlag does; before, it said "--addr is required" to an operator
// who had given it (a review). want says what to give, e.g. "give the
// node's HTTP address, e.g. --addr 127.0.0.1:9464".
func requiredFlag(fs *pflag.FlagSet, name, want string) error {
	if fs != nil && fs.Changed(name) {
		return usageErrorf("--%s %q is empty (a variable that expanded to nothing?): %s", name, fs.Lookup(name).Value.String(), want)
	}
	return usageErrorf("--%s is required: %s", name, want)
}

// flagLike refuses a flag value that begins with '-': pflag takes the next
// argument as the value, so an unquoted variable that expanded to nothing
// swallowed the flag after it. what names the value wanted ("an address"),
// example is one.
func flagLike(value, what, example string) error {
	if !strings.HasPrefix(value, "-") {
		return nil
	}
	return fmt.Errorf("looks like a flag, not %s: did a variable before it expand to nothing? give %s, e.g. %s", what, what, example)
}

package cli

import "strings"

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
		return usageErrorf("--%s %q: entry %d of %d is empty (a comma at the start or end of the list, or two in a row?): "+
			"give each address once, comma-separated, e.g. --%s %s", flag, strings.Join(list, ","), i+1, len(list), flag, example)
	}
	return nil
}

package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/exo-actors/exo-actors/internal/httpserve"
)

// hostsValue is the value of --http-allow-host and --ui-allow-host: host
// names, repeated or comma-separated, each checked as it is given
// (httpserve.CheckHostName). pflag's string slice took `--http-allow-host
// ”` (a variable that expanded to nothing) as no name at all, and the node
// started still refusing the proxy's host without a word (an operator's
// trial); an empty name is refused here, wherever it stands.
type hostsValue struct{ names *[]string }

func (v hostsValue) String() string { return strings.Join(*v.names, ",") }
func (v hostsValue) Type() string   { return "NAME" }

func (v hostsValue) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("an empty name (a variable that expanded to nothing?): give a host name, e.g. metrics.example.com")
	}
	if err := flagLike(s, "a host name", "metrics.example.com"); err != nil { // `--ui-allow-host $EMPTY --ui-actions` (a review)
		return err
	}
	entries := strings.Split(s, ",")
	for i, n := range entries {
		n = strings.TrimSpace(n)
		if n == "" {
			return fmt.Errorf("entry %d of %d is empty (a comma at the start or end, or two in a row?): give each name once, comma-separated", i+1, len(entries))
		}
		if err := httpserve.CheckHostName(n); err != nil {
			if len(entries) == 1 { // the flag's error quotes the value already
				return errors.New(strings.TrimPrefix(err.Error(), fmt.Sprintf("%q: ", n)))
			}
			return err
		}
		*v.names = append(*v.names, n)
	}
	return nil
}

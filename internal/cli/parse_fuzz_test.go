package cli

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/internal/httpserve"
)

// FuzzParseBytes: a size of the node config (health.rss_limit,
// max_message as a string) is operator text. Every refusal is one line;
// what it accepts is 1 byte to 4EiB; a whole number of bytes a float64
// holds exactly reads as itself, and with a unit as itself times the
// unit's bytes when that fits too.
func FuzzParseBytes(f *testing.F) {
	for _, s := range []string{"8GiB", "1.5GiB", "512MiB", "4096", " 7 KB ", "0", "-1", "0.4B", "NaN", "Inf", "1e30TiB", "4EiB", "0x1p4", "1_000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseBytes(s)
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("parseBytes(%q): %q is not one line", s, err)
			}
			return
		}
		if n < 1 || n > 1<<62 {
			t.Fatalf("parseBytes(%q) = %d: not 1 byte to 4EiB", s, n)
		}
		whole, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil || whole > 1<<53 {
			return
		}
		if n != whole {
			t.Fatalf("parseBytes(%q) = %d, want %d", s, n, whole)
		}
		for _, u := range byteUnits {
			if whole > (1<<53)/u.mult {
				continue
			}
			if got, err := parseBytes(s + u.suffix); err != nil || got != whole*u.mult {
				t.Fatalf("parseBytes(%q) = %d, %v; want %d", s+u.suffix, got, err, whole*u.mult)
			}
		}
	})
}

// FuzzHostsValue: --http-allow-host and --ui-allow-host take operator
// text, repeated or comma-separated. Every refusal is one line; what is
// accepted is every comma-separated entry, trimmed, each a name
// CheckHostName accepts; and the flag's text (String, as pflag shows it)
// set again gives the same names.
func FuzzHostsValue(f *testing.F) {
	for _, s := range []string{"metrics.example.com", "a.example, b.example", "", " ", ",", "a,,b", "-x", "[::1],10.0.0.7", "a:80", "a\nb", "a.example,b c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var names []string
		if err := (hostsValue{&names}).Set(s); err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") || err.Error() == "" {
				t.Fatalf("Set(%q): %q is not one line", s, err)
			}
			return
		}
		entries := strings.Split(s, ",")
		if len(names) != len(entries) {
			t.Fatalf("Set(%q) = %q: %d names of %d entries", s, names, len(names), len(entries))
		}
		for i, n := range names {
			if n != strings.TrimSpace(entries[i]) || n == "" || httpserve.CheckHostName(n) != nil {
				t.Fatalf("Set(%q) took %q", s, n)
			}
		}
		var again []string
		if err := (hostsValue{&again}).Set((hostsValue{&names}).String()); err != nil || strings.Join(again, ",") != strings.Join(names, ",") {
			t.Fatalf("Set(%q) = %q, whose text set again is %q, %v", s, names, again, err)
		}
	})
}

// FuzzStatusAddr: `status --addr` is operator text (host:port or an
// http:// URL). Every refusal is one line that quotes the value (or a
// URL's host:port, never an empty one); what it
// accepts is a host:port of a port 1-65535 that it accepts again as itself.
func FuzzStatusAddr(f *testing.F) {
	for _, s := range []string{"127.0.0.1:9464", "http://127.0.0.1:9464", "http://127.0.0.1:9464/", ":9464", "[::1]:9464", "127.0.0.1:0",
		"https://h:1", "h:1/status", "http://h:1/status", "http://u@h:1", "h", "a\nb/status", "HTTP://h:1", "http://[::1", "::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := statusAddr(s)
		if err != nil {
			// A URL's refusal may name its host:port alone (ListenAddr's
			// `HTTP address "h"`), but never an empty one.
			msg := err.Error()
			_, after, url := strings.Cut(msg, `HTTP address "`)
			if strings.ContainsAny(msg, "\n\r") || !strings.Contains(msg, strconv.Quote(s)) && (!url || strings.HasPrefix(after, `"`) || !strings.Contains(s, "://")) {
				t.Fatalf("statusAddr(%q): %q, not one line quoting the value", s, msg)
			}
			return
		}
		host, port, err := net.SplitHostPort(got)
		if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 1 || n > 65535 || host == "" {
			t.Fatalf("statusAddr(%q) = %q: not a host:port of a port 1-65535", s, got)
		}
		if again, err := statusAddr(got); err != nil || again != got {
			t.Fatalf("statusAddr(%q) = %q, which reads as %q, %v", s, got, again, err)
		}
	})
}

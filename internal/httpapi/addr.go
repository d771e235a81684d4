package httpapi

import (
	"fmt"
	"net"
	"strconv"
)

// CheckPort refuses a port that is not a decimal number from 0 to 65535
// (0: any free port), so that a bad address is a usage error when it is
// given, not a listen error later.
func CheckPort(port string) error {
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q: want a number from 0 to 65535 (0: any free port)", port)
	}
	return nil
}

// NotThisHost says why a listen on addr failed with EADDRNOTAVAIL ("bind:
// cannot assign requested address": an address of another host, or of an
// interface that is down) and what to do. The example listens on loopback
// at addr's port; flag, when not empty, is the command line's flag
// ("--listen"), which the example then names. The gateway's, the HTTP
// endpoints' and the web page's listeners all say it.
func NotThisHost(addr, flag string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host, port = addr, "PORT"
	}
	example := net.JoinHostPort("127.0.0.1", port)
	if flag != "" {
		example = flag + " " + example
	}
	return fmt.Sprintf("%s is not an address of this host (no interface has it); listen on one of this host's addresses, e.g. %s (loopback, the default host), or one that 'ip addr' lists", host, example)
}

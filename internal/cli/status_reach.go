package cli

import (
	"fmt"
	"time"
)

// statusUnreachable is status's error when its GET of url (at addr) got no
// answer: connected says whether the TCP connection was made, timedOut
// whether --timeout (timeout) ran out. The cases are told apart as
// `remote status` tells them (runtime's probe: cannotConnect, silentNode),
// by whether the connection was made: a node frozen by SIGSTOP (or
// overloaded) still has its connections accepted by the kernel, and the
// advice to start a node there, right for a refused connection, was
// wrong for it (an operator's trial).
func statusUnreachable(url, addr string, timeout time.Duration, connected, timedOut bool, err error) error {
	switch {
	case timedOut && connected:
		return fmt.Errorf("%s accepted the connection but did not answer GET /status within --timeout (%s): the node may be frozen (e.g. SIGSTOP) or overloaded; check the node's process, or raise --timeout",
			addr, timeout)
	case timedOut:
		// Nothing refused it: the connect did not finish in time.
		return fmt.Errorf("cannot reach %s: the connection to %s was not made within --timeout (%s): the host may be unreachable or drop packets; check the address, or raise --timeout",
			url, addr, timeout)
	}
	return fmt.Errorf("cannot reach %s: %v (is a node serving HTTP there? start one with exo-actors node --http %s (or exo-actors demo --http %s))", url, err, addr, addr)
}

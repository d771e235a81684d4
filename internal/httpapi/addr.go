package httpapi

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// LoopbackHost reports whether host is "localhost", a loopback IP, or
// empty (which ListenAddr turns into 127.0.0.1).
func LoopbackHost(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckPort refuses a port that is not a decimal number from 0 to 65535
// (0: any free port), so that a bad address is a usage error when it is
// given, not a listen error later.
func CheckPort(port string) error {
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q: want a number from 0 to 65535 (0: any free port)", port)
	}
	return nil
}

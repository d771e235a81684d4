package httpapi

import (
	"net"
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

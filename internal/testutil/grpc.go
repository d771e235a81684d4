package testutil

import (
	"net"
	"testing"

	"google.golang.org/grpc"
)

// ServeGRPC serves gRPC without any service on a loopback port until the
// test ends and returns its address: a server that speaks first (its
// SETTINGS frame) and answers every call Unimplemented, as a node's
// gateway does to anything but protoactor's remoting.
func ServeGRPC(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	served := make(chan struct{})
	go func() { // owner: the test's cleanup, which waits on served
		defer close(served) // sole sender: this goroutine
		_ = gs.Serve(lis)
	}()
	t.Cleanup(func() { gs.Stop(); <-served })
	return lis.Addr().String()
}

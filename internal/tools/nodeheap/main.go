package main

import (
	"fmt"
	"net/http"
	_ "net/http/pprof" // the point of this build
	"os"

	"github.com/exo-actors/exo-actors/internal/cli"
)

func main() {
	if addr := os.Getenv("EXO_PPROF_ADDR"); addr != "" {
		// The process exits with cli.Main; the server ends with it.
		go func() { // owner: the process
			if err := http.ListenAndServe(addr, nil); err != nil {
				fmt.Fprintln(os.Stderr, "nodeheap: pprof endpoint:", err)
			}
		}()
	}
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

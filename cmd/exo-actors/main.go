// Command exo-actors is the command-line face of the exo-actors runtime: it runs
// the built-in runner, a demo cluster and the benchmarks. The
// commands live in internal/cli; this main only maps their outcome to an exit
// code (see docs/operations.md for the codes).
package main

import (
	"os"

	"github.com/exo-actors/exo-actors/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

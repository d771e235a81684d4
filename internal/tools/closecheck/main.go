package main

import (
	"fmt"
	"os"

	"github.com/exo-actors/exo-actors/internal/closecheck"
)

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	bad, err := closecheck.Check(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "closecheck:", err)
		os.Exit(2)
	}
	for _, b := range bad {
		fmt.Println(b)
	}
	if len(bad) > 0 {
		fmt.Printf("closecheck: %d close() without a '// sole sender:' comment\n", len(bad))
		os.Exit(1)
	}
}

// Command exo-actors runs the built-in runner (`exo-actors runner`), the demo
// cluster (`exo-actors demo`), the benchmarks (`exo-actors bench`) and prints
// its version (`exo-actors version`).
// `exo-actors --help` lists every subcommand; exit codes are in
// docs/operations.md.
package main

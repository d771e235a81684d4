// Package suggest finds the name a user most likely meant, for the "did
// you mean …?" of an error about a misspelt flag, config field or
// failure kind (the command line, the node config, an error policy rule).
package suggest

// Command closecheck fails when a close() of a channel in the repository has no
// "// sole sender:" comment naming the goroutine that owns the channel, on the
// same line or the line above. It enforces the rule of docs/architecture.md:
// only a channel's sole sender closes it, so no send on a closed channel can
// happen. Usage: go run ./internal/tools/closecheck [DIR]
package main

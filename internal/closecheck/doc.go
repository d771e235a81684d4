// Package closecheck finds close() calls on channels that lack a
// "// sole sender:" comment naming the goroutine that owns the channel. Only
// a channel's sole sender may close it, so a send on a closed channel cannot
// happen; CI runs the check on the whole tree (internal/tools/closecheck).
package closecheck

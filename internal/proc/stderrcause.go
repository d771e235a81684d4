package proc

import (
	"regexp"
	"strings"
)

// errorStatement matches a stderr line that states an error the way a
// runtime or a program prints one as it dies:
//
//	ValueError: weights corrupt              Python, a traceback's last line
//	SyntaxError: Unexpected token ';'        Node.js (then its stack, a blank line and "Node.js v20.20.2")
//	TypeError [ERR_INVALID_ARG_TYPE]: …      Node.js, with an error code
//	java.lang.IllegalStateException: …       Java, and "Caused by: …", "Exception in thread "main" …"
//	panic: no GPU found                      Go (and "fatal error: …")
//	thread 'main' panicked at src/main.rs:…  Rust
//	error: …, fatal: …, ERROR: …             C tools, git-style programs, Python's logging
//
// A line indented (a stack frame, a source line a traceback quotes) never
// matches.
var errorStatement = regexp.MustCompile(`^(?:` +
	`(?:[A-Za-z_$][\w.$]*)?(?:Error|Exception|Interrupt)(?:\s*\[[^\]]*\])?(?::|$)` +
	`|Exception in thread ` +
	`|Caused by: ` +
	`|(?i:panic|fatal error|fatal|error)(?:\[[^\]]*\])?:` +
	`|thread '[^']*'.* panicked at ` +
	`|terminate called after throwing` +
	`)`)

// ErrorLine reports whether a stderr line states an error (a Python
// exception, a Node.js error, a Go panic, …) rather than logs, shows a
// stack frame or says something else.
func ErrorLine(line string) bool { return errorStatement.MatchString(line) }

// CauseLine picks, among a process's last stderr lines (oldest first),
// the one that most likely says why it died: the last line that states an
// error (ErrorLine), else the last non-blank line. It returns the line's
// index, and the line to quote: trimmed, and for a statement that ends
// with a colon and goes on in the next line (Rust's "thread 'main'
// panicked at src/main.rs:2:5:" then the message), both lines joined.
// It returns -1 when every line is blank.
//
// A runtime may print more after the error: Node.js prints the stack, a
// blank line and its version ("Node.js v20.20.2"), so the last non-blank
// line says nothing of the cause (a new user's runner, a syntax error).
// OnlyTrailersAfter says whether the program said more of its own after it.
func CauseLine(lines []string) (int, string) {
	last := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		if last < 0 {
			last = i
		}
		if ErrorLine(lines[i]) {
			line := strings.TrimSpace(lines[i])
			if continues(lines, i+1) {
				line += " " + strings.TrimSpace(lines[i+1])
			}
			return i, line
		}
	}
	if last < 0 {
		return -1, ""
	}
	return last, strings.TrimSpace(lines[last])
}

// OnlyTrailersAfter reports whether every line after line i is what a
// runtime prints after an error statement (Trailer), or goes on the
// statement (Rust's message after "panicked at …:"): then line i is the
// process's last word. When not, the program said more of its own after
// it (a logged "ERROR:root:download failed, retrying", then
// `sys.exit("model weights not found")`), and its last line may be the
// cause as well (a review).
func OnlyTrailersAfter(lines []string, i int) bool {
	for j := i + 1; j < len(lines); j++ {
		if !Trailer(lines[j]) && !continues(lines, j) {
			return false
		}
	}
	return true
}

// continues reports whether line i goes on the error statement before it:
// Rust's "thread 'main' panicked at src/main.rs:2:5:" then the message.
func continues(lines []string, i int) bool {
	if i < 1 || i >= len(lines) {
		return false
	}
	prev, line := strings.TrimSpace(lines[i-1]), lines[i]
	return strings.HasSuffix(prev, ":") && ErrorLine(lines[i-1]) &&
		strings.TrimSpace(line) != "" && strings.TrimSpace(line) == line && !ErrorLine(line)
}

// trailer matches what a runtime prints after an error statement, beside
// blank and indented lines (stack frames): Node.js's version, go run's
// exit status, a Go stack's goroutine header and unindented function
// lines, Rust's backtrace header and notes.
var trailer = regexp.MustCompile(`^(?:` +
	`Node\.js v\d` +
	`|exit status \d+$` +
	`|goroutine \d+ \[` +
	`|created by ` +
	`|[\w./*$()\[\]-]+\(.*\)$` +
	`|stack backtrace:$` +
	`|note: ` +
	`|\[signal ` +
	`)`)

// Trailer reports whether a stderr line is what a runtime prints after an
// error statement (a stack frame, a blank line, "Node.js v20.20.2", "exit
// status 2"), not a program's own word.
func Trailer(line string) bool {
	if strings.TrimSpace(line) == "" || line[0] == ' ' || line[0] == '\t' {
		return true
	}
	return trailer.MatchString(line)
}

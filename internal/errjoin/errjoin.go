// Package errjoin joins errors as errors.Join does (errors.Is and
// errors.As find each) but on one line: the project's error texts are one
// line each (runtime's package doc), and errors.Join puts a newline
// between them, so a log line or a CLI's "error: …" broke in two.
package errjoin

import "strings"

// OneLine joins errs, separated by "; ", skipping nils. It returns nil
// when no error is left, and the error itself when one is.
func OneLine(errs ...error) error {
	var kept []error
	for _, e := range errs {
		if e != nil {
			kept = append(kept, e)
		}
	}
	switch len(kept) {
	case 0:
		return nil
	case 1:
		return kept[0]
	}
	return joined(kept)
}

type joined []error

// Error joins the messages with "; ".
func (e joined) Error() string {
	parts := make([]string, len(e))
	for i, err := range e {
		parts[i] = err.Error()
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the joined errors.
func (e joined) Unwrap() []error { return e }

// Tag returns an error whose text is err's and which errors.Is and
// errors.As find as sentinel too: a sentinel for a class of errors (an
// invalid config) added to texts that are already complete, without
// prefixing them with the sentinel's own text. nil stays nil.
func Tag(sentinel, err error) error {
	if err == nil {
		return nil
	}
	return tagged{sentinel, err}
}

type tagged struct{ sentinel, err error }

func (t tagged) Error() string   { return t.err.Error() }
func (t tagged) Unwrap() []error { return []error{t.sentinel, t.err} }

//go:build !unix

package pollfd

import (
	"io"
	"os"
)

// Stdin returns f and a restore that does nothing: only Unix pipes are
// converted.
func Stdin(f *os.File) (*os.File, func()) { return f, func() {} }

// Writer is not available off Unix: Stdout always reports false.
type Writer struct{}

// DefaultWriteLimit is the most a Writer keeps pending (Unix only).
const DefaultWriteLimit = 64 << 10

// Stdout returns (nil, false): only Unix pipes are converted.
func Stdout(f *os.File, limit int) (*Writer, bool) { return nil, false }

// Write is never called: Stdout returns no Writer off Unix.
func (w *Writer) Write(p []byte) (int, error) { return 0, os.ErrInvalid }

// Close is never called: Stdout returns no Writer off Unix.
func (w *Writer) Close() error { return nil }

// Out returns w and a close that does nothing: only Unix pipes are
// converted.
func Out(w io.Writer) (io.Writer, func() error) { return w, func() error { return nil } }

package proc

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

type emitted struct {
	line      string
	truncated int
}

// String shows a line (its middle left out past 40 bytes) and its count of
// dropped bytes, for failures.
func (e emitted) String() string {
	l := e.line
	if len(l) > 40 {
		l = fmt.Sprintf("%s…(%d bytes)…%s", l[:16], len(l)-32, l[len(l)-16:])
	}
	return fmt.Sprintf("%q (%d dropped)", l, e.truncated)
}

func split(in string, lineMax int) []emitted {
	return splitFrom(strings.NewReader(in), lineMax)
}

func splitFrom(r io.Reader, lineMax int) []emitted {
	var out []emitted
	splitLines(r, lineMax, func(l []byte, n int) { out = append(out, emitted{string(l), n}) })
	return out
}

// TestSplitLines: stderr is cut into lines without their "\n" or "\r\n";
// a line longer than the bound is cut (never inside a UTF-8 rune) and the
// bytes dropped are counted, up to its "\n". Before, a line over 4096 bytes
// came out as several lines of 4096 bytes (a log pipeline saw three lines
// for one), and "\r\n" kept its "\r".
func TestSplitLines(t *testing.T) {
	long := strings.Repeat("x", 100)
	for _, tc := range []struct {
		name, in string
		max      int
		want     []emitted
	}{
		{"lines", "a\nb c\n", 16, []emitted{{"a", 0}, {"b c", 0}}},
		{"crlf", "a\r\nb\r\n", 16, []emitted{{"a", 0}, {"b", 0}}},
		{"blank lines kept", "\n\na\n", 16, []emitted{{"", 0}, {"", 0}, {"a", 0}}},
		{"last line without newline", "a\nend", 16, []emitted{{"a", 0}, {"end", 0}}},
		{"nothing", "", 16, nil},
		{"exactly the bound", strings.Repeat("y", 16) + "\nz\n", 16, []emitted{{strings.Repeat("y", 16), 0}, {"z", 0}}},
		{"long line truncated, the next intact", long + "\nnext\n", 16, []emitted{{long[:16], 84}, {"next", 0}}},
		{"long line without newline", long, 16, []emitted{{long[:16], 84}}},
		{"long crlf line: the \\r is not counted", long + "\r\n", 16, []emitted{{long[:16], 84}}},
		// "é" is 2 bytes: 15 x + é would cut é in half at 16.
		{"cut at a rune boundary", strings.Repeat("x", 15) + "ééé\n", 16, []emitted{{strings.Repeat("x", 15), 6}}},
		// The reader's buffer is max(lineMax, 16) bytes: a "\r\n" line
		// whose "\r" is the buffer's last byte (4095 bytes with the
		// defaults) kept its "\r", and a longer one counted it as dropped.
		{"crlf with its \\r at the buffer's end", strings.Repeat("x", 15) + "\r\nz\r\n", 16, []emitted{{strings.Repeat("x", 15), 0}, {"z", 0}}},
		{"crlf of 4095 bytes, the default bound", strings.Repeat("x", 4095) + "\r\n", 4096, []emitted{{strings.Repeat("x", 4095), 0}}},
		{"truncated crlf with its \\r at the buffer's end", strings.Repeat("x", 15) + "\r\n", 4, []emitted{{"xxxx", 11}}},
		{"\\r at the buffer's end inside a line", strings.Repeat("x", 15) + "\ry\n", 16, []emitted{{strings.Repeat("x", 15) + "\r", 1}}},
		{"\\r \\r\\n at the buffer's end", strings.Repeat("x", 15) + "\r\r\n", 32, []emitted{{strings.Repeat("x", 15) + "\r", 0}}},
		{"last line ending in \\r at the buffer's end", strings.Repeat("x", 15) + "\r", 16, []emitted{{strings.Repeat("x", 15) + "\r", 0}}},
		{"control bytes and quotes kept", "\x1b[31mred\x1b[0m \"q\"\t\\\n", 64, []emitted{{"\x1b[31mred\x1b[0m \"q\"\t\\", 0}}},
	} {
		// Also a byte per Read, and the last bytes with io.EOF: the first
		// byte is read on its own before the buffers are made.
		for how, r := range map[string]io.Reader{"": strings.NewReader(tc.in),
			" (one byte per read)": iotest.OneByteReader(strings.NewReader(tc.in)),
			" (data with io.EOF)":  iotest.DataErrReader(strings.NewReader(tc.in))} {
			got := splitFrom(r, tc.max)
			if len(got) != len(tc.want) {
				t.Errorf("%s%s: %q, want %q", tc.name, how, got, tc.want)
				continue
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("%s%s: line %d %s, want %s", tc.name, how, i, got[i], tc.want[i])
				}
			}
		}
	}
	// A stderr that ends silent costs no line buffers (most runners never
	// write to stderr; the buffers were 8 KiB of each idle runner).
	if n := testing.AllocsPerRun(20, func() { split("", 4096) }); n > 2 {
		t.Errorf("a silent stderr: %v allocations, want at most 2 (no buffers)", n)
	}
	l := StderrLine{Line: "xx", Truncated: 5904}
	if got, want := l.Text(), "xx …[truncated 5904 bytes]"; got != want {
		t.Errorf("Text %q, want %q", got, want)
	}
}

// FuzzSplitLines: whatever the bytes, splitLines gives what the plain
// rule gives (splitRef): every line fits the bound and holds no "\n",
// loses only its "\n" or "\r\n" end and its dropped bytes, counted
// exactly, and a line cut from valid UTF-8 stays valid UTF-8.
func FuzzSplitLines(f *testing.F) {
	f.Add([]byte("a\r\nb\n\nlong line here\n"), uint8(4))
	f.Add([]byte("ééé\nxxxxxxxxxx"), uint8(3))
	f.Add([]byte("xxxxxxxxxxxxxxx\r\nyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n"), uint8(15)) // "\r" at the buffer's end
	f.Add([]byte("xxxxxxxxxxxxxxx\r\n"), uint8(3))
	f.Fuzz(func(t *testing.T, in []byte, m uint8) {
		lineMax := int(m%64) + 1
		var got []emitted
		splitLines(bytes.NewReader(in), lineMax, func(l []byte, n int) {
			if len(l) > lineMax || bytes.IndexByte(l, '\n') >= 0 || n < 0 {
				t.Fatalf("line %q (dropped %d): over %d bytes, or holds a newline", l, n, lineMax)
			}
			if n > 0 && utf8.Valid(in) && !utf8.Valid(l) {
				t.Fatalf("cut %q from valid UTF-8 is not valid", l)
			}
			got = append(got, emitted{string(l), n})
		})
		want := splitRef(in, lineMax)
		if len(got) != len(want) {
			t.Fatalf("bound %d: %q, want %q", lineMax, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("bound %d: line %d %s, want %s", lineMax, i, got[i], want[i])
			}
		}
	})
}

// splitRef is splitLines's rule written plainly, on the whole input: split
// at "\n", drop a "\r" before it, cut a line to lineMax bytes and then
// back to a whole rune, count the rest.
func splitRef(in []byte, lineMax int) []emitted {
	var out []emitted
	for len(in) > 0 {
		line, rest, ended := bytes.Cut(in, []byte("\n"))
		in = rest
		if ended {
			line = bytes.TrimSuffix(line, []byte("\r"))
		}
		keep := line
		if len(keep) > lineMax {
			keep = keep[:lineMax]
			keep = keep[:len(keep)-partialRune(keep)]
		}
		out = append(out, emitted{string(keep), len(line) - len(keep)})
	}
	return out
}

// TestStderrBuffer: the buffer rings once until a take, keeps lines in
// order across its wrap, drops the oldest past its line and byte bounds
// (keeping at least the newest line) and counts them.
func TestStderrBuffer(t *testing.T) {
	b := stderrBuffer{max: 3}
	if !b.push(StderrLine{Line: "a"}) {
		t.Fatal("the first line did not ring")
	}
	for _, l := range []string{"b", "c", "d", "e"} {
		if b.push(StderrLine{Line: l}) {
			t.Fatalf("line %q rang again before a take", l)
		}
	}
	lines, dropped := b.take()
	if got := texts(lines); got != "c d e" || dropped != 2 {
		t.Fatalf("take = %q, %d dropped; want \"c d e\", 2", got, dropped)
	}
	if !b.push(StderrLine{Line: "f"}) {
		t.Fatal("the first line after a take did not ring")
	}
	b.push(StderrLine{Line: "g"})
	if got, d := b.take(); texts(got) != "f g" || d != 0 {
		t.Fatalf("take after the wrap = %q, %d", texts(got), d)
	}
	// The byte bound: a line as long as the bound leaves only itself.
	b = stderrBuffer{max: 100}
	b.push(StderrLine{Line: "x"})
	b.push(StderrLine{Line: strings.Repeat("y", StderrBufferBytes)})
	if got, d := b.take(); len(got) != 1 || d != 1 || len(got[0].Line) != StderrBufferBytes {
		t.Fatalf("byte bound: %d lines, %d dropped", len(got), d)
	}
}

func texts(ls []StderrLine) string {
	var out []string
	for _, l := range ls {
		out = append(out, l.Line)
	}
	return strings.Join(out, " ")
}

// FuzzStderrBuffer checks the ring against a plain list under any mix of
// pushes (short and long lines) and takes: same lines in the same order,
// same drop count, never more than max lines.
func FuzzStderrBuffer(f *testing.F) {
	f.Add([]byte{1, 2, 3, 0, 200, 5, 0, 0, 9}, uint8(3))
	f.Add([]byte{255, 255, 1, 255, 2, 0, 3}, uint8(2))
	f.Fuzz(func(t *testing.T, ops []byte, max8 uint8) {
		limit := int(max8%8) + 1
		b := stderrBuffer{max: limit}
		var model []string
		modelDropped, seq := 0, 0
		for _, op := range ops {
			if op == 0 {
				got, d := b.take()
				if texts(got) != strings.Join(model, " ") || d != modelDropped {
					t.Fatalf("take = %q, %d; want %q, %d", texts(got), d, strings.Join(model, " "), modelDropped)
				}
				model, modelDropped = nil, 0
				continue
			}
			seq++
			line := fmt.Sprintf("l%d", seq)
			if op == 255 { // a long line: the byte bound
				line += strings.Repeat("z", StderrBufferBytes/2)
			}
			b.push(StderrLine{Line: line})
			model = append(model, line)
			for bytes := total(model); len(model) > 1 && (len(model) > limit || bytes > StderrBufferBytes); bytes = total(model) {
				model = model[1:]
				modelDropped++
			}
			if b.n > limit {
				t.Fatalf("%d lines held, max %d", b.n, limit)
			}
		}
	})
}

func total(ls []string) int {
	n := 0
	for _, l := range ls {
		n += len(l)
	}
	return n
}

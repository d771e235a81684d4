package frame

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"strconv"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// DefaultMaxSize is the largest frame body accepted unless configured: 4 MiB.
const DefaultMaxSize = 4 << 20

// ReadBufferSize is the size of the bufio.Reader a Reader puts in front of a
// reader that is not already a *bufio.Reader.
const ReadBufferSize = 64 << 10

// The kinds of frame error; an *Error wraps exactly one of them, so callers
// test with errors.Is.
var (
	// ErrTruncated: the input ended inside a frame (in its length or its body).
	ErrTruncated = errors.New("truncated frame")
	// ErrOversized: the declared length exceeds the limit. Fatal: the reader
	// cannot know where the next frame starts.
	ErrOversized = errors.New("frame length exceeds the limit")
	// ErrBadLength: the length prefix is not a valid varint.
	ErrBadLength = errors.New("malformed frame length")
	// ErrUndecodable: the body is not a valid protobuf message of the expected type.
	ErrUndecodable = errors.New("undecodable frame body")
	// ErrNoBody: an envelope arrived with its oneof body unset.
	ErrNoBody = errors.New("envelope has no body")
	// ErrUnknownFields: the message carries fields this side does not know, which
	// on the runner pipe means garbage that happened to parse.
	ErrUnknownFields = errors.New("message has unknown fields")
	// ErrTooLarge: a Writer was asked to send a message over the limit.
	ErrTooLarge = errors.New("message exceeds the frame size limit")
	// ErrTextOnStdout: the bytes where a frame should start are text (most
	// often a stray print to a runner's stdout). Fatal; (*Error).Excerpt
	// shows them, and its message names the stream and a hint (TextStream).
	ErrTextOnStdout = errors.New("text where a frame should start")
	// ErrStalled: a frame began but stayed incomplete for the stall bound
	// (WithStallTimeout) while the stream stayed open. Fatal;
	// (*Error).Excerpt shows the bytes that did arrive.
	ErrStalled = errors.New("frame stalled incomplete")
)

// TextHint ends the message of an ErrTextOnStdout error on a runner's
// stdout (the default): what the runner's author should do about it.
const TextHint = "did the runner print to stdout? log to stderr"

// Error is a frame error with its position: the frame's number (1-based) and the
// byte offset in the stream where that frame starts.
type Error struct {
	Frame  uint64 // 1 for the first frame of the stream
	Offset int64  // where the frame starts, in bytes from the stream's start
	Length uint64 // the declared body length, when it was read
	Kind   error  // one of the Err* sentinels
	Cause  error  // the underlying error, if any
	// Excerpt is the first bytes at Offset, quoted printably (Go syntax):
	// always set for ErrTextOnStdout and ErrStalled, and for other kinds
	// when those bytes look like text.
	Excerpt string
	// Arrived is, for ErrStalled, how many bytes of the frame had arrived.
	Arrived int
	// Body is, for ErrUndecodable, ErrUnknownFields and ErrNoBody (an
	// envelope of unknown fields only), the first bytes of
	// the frame's body (at most BodyHexMax) in hex, for whoever encodes
	// frames by hand; empty when the body's start was not in hand.
	Body string
	// Stream and Hint name the stream and say what to do, in the message
	// of a text error ("stdout", TextHint unless TextStream says otherwise).
	Stream, Hint string
	// Field is, for ErrUndecodable, the field whose bytes made the body
	// undecodable, when a walk of the body found it: a string field that
	// is not UTF-8 ("exoactors.v1.TokenChunk.text (field 1)"), or a
	// message field whose bytes do not parse as its message. The cause of
	// ErrUnknownFields names the field itself ("in exoactors.v1.TokenChunk:
	// field 4, wire type 0 (VARINT), a number TokenChunk does not have").
	Field string
	// fault is what Misencoded and EncoderHint say (diagnose.go).
	fault fault
}

func (e *Error) Error() string {
	stream, hint := e.Stream, e.Hint
	if stream == "" {
		stream, hint = "stdout", TextHint
	}
	if e.Kind == ErrTextOnStdout {
		return fmt.Sprintf("frame %d at byte %d: %s is not frames: %s (%s)", e.Frame, e.Offset, stream, e.Excerpt, hint)
	}
	s := fmt.Sprintf("frame %d at byte %d: %v", e.Frame, e.Offset, e.Kind)
	if e.Length > 0 {
		s += fmt.Sprintf(" (declared length %d)", e.Length)
	}
	if e.Cause != nil {
		// protobuf-go puts a no-break space in its texts ("proto:\u00a0…",
		// to discourage matching them): a reader, or a runner author's
		// grep, sees a plain one.
		s += ": " + strings.ReplaceAll(e.Cause.Error(), "\u00a0", " ")
	}
	if e.Field != "" {
		s += ": " + e.Field
	}
	if e.Body != "" {
		s += "; body " + e.Body
	}
	if e.Kind == ErrStalled {
		s += fmt.Sprintf("; %d bytes arrived: %s", e.Arrived, e.Excerpt)
	} else if e.Excerpt != "" {
		s += fmt.Sprintf("; the bytes look like text: %s (%s)", e.Excerpt, hint)
	}
	return s
}

// Unwrap returns the sentinel kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Cause != nil {
		return []error{e.Kind, e.Cause}
	}
	return []error{e.Kind}
}

// Fatal reports whether the stream is out of sync after this error, so no
// further frame can be read from it.
func (e *Error) Fatal() bool {
	return e.Kind == ErrOversized || e.Kind == ErrTruncated || e.Kind == ErrBadLength ||
		e.Kind == ErrTextOnStdout || e.Kind == ErrStalled
}

// Option configures a Reader or a Writer.
type Option func(*options)

type options struct {
	maxSize      int
	allowUnknown bool
	allowNoBody  bool
	stall        time.Duration
	deadliner    Deadliner
	textStream   string
	textHint     string
	fast         FastDecoder
}

// FastDecoder decodes a frame body that it recognises into m without
// protobuf reflection. It returns true only when m then holds exactly what
// proto.Unmarshal would make of body, and body passes every check of the
// Reader whatever its options (no unknown field at any level, the "body"
// oneof set); it must copy what it keeps of body (the bytes are the read
// buffer's). Otherwise it returns false and leaves m as it was, and the
// Reader decodes the frame the ordinary way.
type FastDecoder func(body []byte, m proto.Message) bool

// WithFastDecode gives a Reader a FastDecoder, tried first on every frame
// that is whole in the read buffer. The runner's stdout reader uses one for
// token chunk frames, by far the most frequent (internal/proc).
func WithFastDecode(f FastDecoder) Option { return func(o *options) { o.fast = f } }

// TextStream names the stream a Reader reads and what to do about text on
// it, for the message of an ErrTextOnStdout error; the default is a runner's
// stdout with TextHint. A runner reading its stdin would say ("stdin",
// "is something other than the supervisor writing to it?").
func TextStream(name, hint string) Option {
	return func(o *options) { o.textStream, o.textHint = name, hint }
}

// Deadliner is a stream whose reads can be given a deadline, such as an
// *os.File of a pipe.
type Deadliner interface {
	SetReadDeadline(t time.Time) error
}

// WithStallTimeout makes a Reader give up on a frame that has begun but stays
// incomplete for d while the stream stays open: Read then returns an
// ErrStalled (or, when the bytes look like text, ErrTextOnStdout) error.
// Waiting between frames is never bounded. dl must be the stream under the
// Reader (its reads get the deadlines); d <= 0 or a nil dl turns it off.
func WithStallTimeout(d time.Duration, dl Deadliner) Option {
	return func(o *options) {
		if d > 0 && dl != nil {
			o.stall, o.deadliner = d, dl
		}
	}
}

// WithMaxSize sets the largest frame body, in bytes (n > 0).
func WithMaxSize(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.maxSize = n
		}
	}
}

// AllowUnknownFields makes a Reader accept messages with unknown fields (for
// peers speaking a newer minor version). Off by default on the runner pipe.
func AllowUnknownFields() Option { return func(o *options) { o.allowUnknown = true } }

// AllowNoBody makes a Reader accept an envelope whose oneof body is unset.
func AllowNoBody() Option { return func(o *options) { o.allowNoBody = true } }

func buildOptions(opts []Option) options {
	o := options{maxSize: DefaultMaxSize}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Reader decodes frames from a stream. It is not safe for concurrent use: one
// goroutine owns it.
type Reader struct {
	br      *bufio.Reader
	opts    options
	unm     protodelim.UnmarshalOptions
	frame   uint64 // frames read (or skipped) so far
	skipped uint64 // frames Skip consumed
	offset  int64  // byte offset of the next frame
}

// NewReader returns a Reader of r. If r is a *bufio.Reader it is used as is
// (protodelim then reads bodies without copying); otherwise a ReadBufferSize
// buffer is put in front of it.
func NewReader(r io.Reader, opts ...Option) *Reader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, ReadBufferSize)
	}
	o := buildOptions(opts)
	return &Reader{
		br:   br,
		opts: o,
		unm: protodelim.UnmarshalOptions{
			MaxSize:          int64(o.maxSize),
			UnmarshalOptions: proto.UnmarshalOptions{DiscardUnknown: false},
		},
	}
}

// FrameBuffered reports whether a whole next frame (its length prefix and
// body) is already in the buffer, so Read would return it without reading
// from the underlying stream. The runner's stdout reader uses it to batch:
// after one blocking Read it takes what is already buffered, and never waits
// for a frame that has not fully arrived. A malformed or oversized length
// counts as buffered (Read then returns its error at once).
func (r *Reader) FrameBuffered() bool {
	b, _ := r.br.Peek(r.br.Buffered())
	if len(b) == 0 {
		return false
	}
	size, n := protowire.ConsumeVarint(b)
	if n < 0 {
		return len(b) >= maxVarintLen // shorter: the prefix is still arriving
	}
	if size > uint64(r.opts.maxSize) {
		return true
	}
	return uint64(len(b)-n) >= size
}

// Offset returns the byte offset where the next frame starts.
func (r *Reader) Offset() int64 { return r.offset }

// Frames returns how many frames were read successfully or with a body
// error, or skipped (Skip).
func (r *Reader) Frames() uint64 { return r.frame }

// Read decodes the next frame into m. It returns io.EOF, unwrapped, when the
// stream ends cleanly between frames; every other failure is an *Error.
// After an error for which (*Error).Fatal is false, the next Read continues
// with the following frame.
//
// Text where a frame should start (a stray print to stdout) is reported as
// ErrTextOnStdout rather than read as a length: at once when at least
// textRunMin printable bytes have arrived (no valid frame starts like that),
// otherwise when the would-be frame fails to decode or stalls.
func (r *Reader) Read(m proto.Message) error {
	err := r.read(m)
	if err != nil && r.opts.textStream != "" {
		if e, ok := err.(*Error); ok {
			e.Stream, e.Hint = r.opts.textStream, r.opts.textHint
		}
	}
	return err
}

func (r *Reader) read(m proto.Message) error {
	num, start := r.frame+1, r.offset
	// Between frames the wait is unbounded: an idle runner writes nothing.
	if _, err := r.br.Peek(1); err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return &Error{Frame: num, Offset: start, Kind: ErrTruncated, Cause: err}
	}
	head := r.buffered(textProbe)
	if n, _ := textRun(head); n >= textRunMin {
		return &Error{Frame: num, Offset: start, Kind: ErrTextOnStdout, Excerpt: excerpt(head)}
	}
	size, n, kind, cause := r.peekLength()
	if kind != nil {
		return r.withBytes(&Error{Frame: num, Offset: start, Kind: kind, Cause: cause})
	}
	if size > uint64(r.opts.maxSize) {
		return r.withBytes(&Error{Frame: num, Offset: start, Length: size, Kind: ErrOversized,
			Cause: fmt.Errorf("limit is %d bytes", r.opts.maxSize)})
	}
	// When the frame fits in the buffer, have all of it buffered before
	// protodelim reads it: a stream that ends or fails inside the body is then
	// told apart for certain from a body that does not decode. A larger frame
	// protodelim reads into a buffer of its own; there, only an error from the
	// protobuf module means the body was read whole and did not decode.
	var whole []byte
	if total := uint64(n) + size; total <= uint64(r.br.Size()) {
		b, err := r.peekMid(int(total))
		if err != nil {
			return r.withBytes(truncatedBody(num, start, size, err, r.opts.stall))
		}
		// b stays valid after protodelim consumed it: bufio only reuses
		// its buffer on the next fill, and the frame is all buffered.
		whole = b
		if r.opts.fast != nil && r.opts.fast(b[n:], m) {
			_, _ = r.br.Discard(len(b)) // buffered: cannot fail
			r.advance(n, size)
			return nil
		}
	} else {
		head = append([]byte(nil), r.buffered(textProbe)...) // the large frame's start, for an error
	}
	if err := r.unmarshal(m, whole != nil); err != nil {
		if whole == nil && !errors.Is(err, proto.Error) {
			return r.withHead(truncatedBody(num, start, size, err, r.opts.stall), head)
		}
		if whole != nil {
			head = whole
		}
		return r.bodyError(&Error{Frame: num, Offset: start, Length: size, Kind: ErrUndecodable, Cause: err}, m, head, n)
	}
	// A frame all in the buffer is checked on its bytes (cheap); a larger
	// one by walking the decoded message.
	if whole != nil {
		kind, cause = r.checkWire(m, whole[n:])
	} else {
		kind, cause = r.check(m)
	}
	if kind != nil {
		if whole != nil {
			head = whole
		}
		return r.bodyError(&Error{Frame: num, Offset: start, Length: size, Kind: kind, Cause: cause}, m, head, n)
	}
	r.advance(n, size)
	return nil
}

// bodyError returns the error for a frame read whole whose body is bad: the
// stream stays in sync past it, unless its start is text (then it is out of
// sync, and the offset stays at the frame's start, as for every fatal error).
// m is the message the body was decoded into.
func (r *Reader) bodyError(e *Error, m proto.Message, head []byte, n int) error {
	// An envelope whose fields are all unknown has no body too: its bytes
	// are what its author needs to see (a raw runner's trial).
	if e.Kind == ErrUndecodable || e.Kind == ErrUnknownFields || e.Kind == ErrNoBody && e.Length > 0 {
		e.Body = bodyHex(head, n, e.Length)
	}
	var body []byte // the whole body, when head holds it
	if uint64(len(head)) >= uint64(n)+e.Length {
		body = head[n : uint64(n)+e.Length]
	}
	diagnose(e, m, body)
	if e.Misencoded() {
		if run, _ := textRun(head); run < textRunMin {
			// Protobuf with one field wrong, whose first bytes happen to
			// read as a short line (a length byte and a tag that are
			// printable, then a 0x0a tag: a chunk of 36 to 126 bytes): not
			// a print (a new user's Java runner read "stdout is not
			// frames: \"$*\\\"\"" for a field number off by one).
			r.advance(n, e.Length)
			return e
		}
	}
	err := textOr(e, head)
	if !errors.Is(err, ErrTextOnStdout) {
		r.advance(n, e.Length)
	}
	return err
}

// BodyHexMax is how many bytes of a bad frame body (*Error).Body shows.
const BodyHexMax = 32

// bodyHex renders the start of a frame's body in hex: head holds the frame
// from its start (n bytes of length prefix, then the body of size bytes, or
// only the body's start when the frame is larger than the read buffer).
// The result reads e.g. "0a 01 ff" or "0a 01 ff … (first 32 of 4096 bytes)".
func bodyHex(head []byte, n int, size uint64) string {
	if len(head) <= n || size == 0 {
		return ""
	}
	body := head[n:]
	if uint64(len(body)) > size {
		body = body[:size]
	}
	body = body[:min(len(body), BodyHexMax)]
	s := fmt.Sprintf("% x", body)
	if uint64(len(body)) < size {
		s += fmt.Sprintf(" … (first %d of %d bytes)", len(body), size)
	}
	return s
}

// textProbe is how many bytes at a frame's start the text checks look at.
const textProbe = 128

// textRunMin is the run of printable bytes at a frame's start that is text
// for certain. A valid frame's start holds at most 11: its length varint,
// the envelope's tag, the inner message's length varint and its first tag,
// where the first non-printable byte or newline comes at the latest.
const textRunMin = 16

// buffered returns up to n bytes already buffered, without reading.
func (r *Reader) buffered(n int) []byte {
	b, _ := r.br.Peek(min(n, r.br.Buffered()))
	return b
}

// peekMid peeks n bytes of a frame that has begun, waiting at most the stall
// bound for them when one is set.
func (r *Reader) peekMid(n int) ([]byte, error) {
	if r.opts.stall <= 0 || r.br.Buffered() >= n {
		return r.br.Peek(n)
	}
	dl := r.opts.deadliner
	_ = dl.SetReadDeadline(time.Now().Add(r.opts.stall))
	b, err := r.br.Peek(n)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// A second, short chance: the bytes may have arrived while this
		// goroutine waited to run (a busy machine), not while the writer
		// sat on them.
		_ = dl.SetReadDeadline(time.Now().Add(stallRecheck))
		b, err = r.br.Peek(n)
	}
	_ = dl.SetReadDeadline(time.Time{})
	return b, err
}

// stallRecheck is the second chance peekMid gives a frame after its stall
// bound passed.
const stallRecheck = 20 * time.Millisecond

// unmarshal runs protodelim; a frame not buffered whole is read under the
// stall bound.
func (r *Reader) unmarshal(m proto.Message, whole bool) error {
	if whole || r.opts.stall <= 0 {
		return r.unm.UnmarshalFrom(r.br, m)
	}
	_ = r.opts.deadliner.SetReadDeadline(time.Now().Add(r.opts.stall))
	err := r.unm.UnmarshalFrom(r.br, m)
	_ = r.opts.deadliner.SetReadDeadline(time.Time{})
	return err
}

// withBytes adds what is buffered at the failed frame's start: for a stall,
// the bytes that did arrive, and for every kind, whether they are text.
func (r *Reader) withBytes(e *Error) error { return r.withHead(e, r.buffered(textProbe)) }

func (r *Reader) withHead(e *Error, head []byte) error {
	if e.Kind == ErrStalled {
		e.Arrived = r.br.Buffered()
	}
	return textOr(e, head)
}

// textOr turns e into an ErrTextOnStdout error when head, the bytes at the
// failed frame's start, look like a line of text; otherwise it returns e,
// with an excerpt of head if it is a stall.
func textOr(e *Error, head []byte) error {
	if n, nl := textRun(head); n >= textRunMin || n >= 2 && nl {
		if e.Kind == ErrTruncated {
			// The stream ended: the exit (or the failure that closed it)
			// is the diagnosis, but the text is worth showing.
			e.Excerpt = excerpt(head)
			return e
		}
		return &Error{Frame: e.Frame, Offset: e.Offset, Kind: ErrTextOnStdout, Excerpt: excerpt(head)}
	}
	if e.Kind == ErrStalled {
		e.Excerpt = strconv.Quote(string(head[:min(len(head), 32)]))
	}
	return e
}

// textRun returns the length in bytes of the printable text at the start of
// b (printable Unicode in valid UTF-8, tab, carriage return) and whether a
// newline ends it.
func textRun(b []byte) (n int, newline bool) {
	for n < len(b) {
		c := b[n]
		if c < utf8.RuneSelf {
			switch {
			case c == '\n':
				return n, true
			case c >= 0x20 && c < 0x7f, c == '\t', c == '\r':
				n++
				continue
			}
			return n, false
		}
		ru, size := utf8.DecodeRune(b[n:])
		if ru == utf8.RuneError || !unicode.IsPrint(ru) {
			return n, false
		}
		n += size
	}
	return n, false
}

// excerptMax is the longest text an excerpt quotes.
const excerptMax = 80

// excerpt quotes the first line of b without its newline, at most
// excerptMax bytes of it, cut on a rune boundary. Without the newline, a
// line reads the same whether it arrived whole or its newline had not
// arrived yet (a text run of textRunMin bytes is diagnosed at once).
func excerpt(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	cut := len(b) > excerptMax
	if cut {
		b = b[:excerptMax]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	q := strconv.Quote(string(b))
	if cut {
		q += "…"
	}
	return q
}

// truncatedBody is the error for a stream that ended (err is io.EOF or
// io.ErrUnexpectedEOF) or failed (any other err) inside a frame's body.
func truncatedBody(num uint64, start int64, size uint64, err error, stall time.Duration) *Error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &Error{Frame: num, Offset: start, Length: size, Kind: ErrStalled,
			Cause: fmt.Errorf("incomplete for %s while the stream stayed open", stall)}
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = errors.New("stream ended inside the body")
	}
	return &Error{Frame: num, Offset: start, Length: size, Kind: ErrTruncated, Cause: err}
}

func (r *Reader) advance(n int, size uint64) {
	r.frame++
	r.offset += int64(n) + int64(size)
}

// maxVarintLen is the longest varint, in bytes.
const maxVarintLen = 10

// peekLength reads the varint length prefix without consuming it (protodelim
// reads it again). Peek grows one byte at a time so a short final frame never
// blocks waiting for bytes the writer will not send. kind is nil on success,
// otherwise a frame error kind.
func (r *Reader) peekLength() (size uint64, n int, kind, cause error) {
	for i := 1; i <= maxVarintLen; i++ {
		b, err := r.peekMid(i) // the first byte is buffered already (Read)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				return 0, 0, ErrStalled, fmt.Errorf("length prefix incomplete for %s while the stream stayed open", r.opts.stall)
			}
			if err == io.EOF {
				return 0, 0, ErrTruncated, errors.New("stream ended inside the length prefix")
			}
			return 0, 0, ErrTruncated, err
		}
		if b[i-1] < 0x80 {
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return 0, 0, ErrBadLength, protowire.ParseError(m)
			}
			return v, m, nil, nil
		}
	}
	return 0, 0, ErrBadLength, fmt.Errorf("longer than %d bytes", maxVarintLen)
}

// check enforces the envelope rules: a oneof named "body", when the message
// has one, must be set; no message in the tree may carry unknown fields.
func (r *Reader) check(m proto.Message) (kind, cause error) {
	pm := m.ProtoReflect()
	if !r.opts.allowNoBody {
		if od := pm.Descriptor().Oneofs().ByName("body"); od != nil && pm.WhichOneof(od) == nil {
			return ErrNoBody, noBodyCause(pm)
		}
	}
	if !r.opts.allowUnknown {
		if name, ok := findUnknown(pm); ok {
			return ErrUnknownFields, fmt.Errorf("in %s", name)
		}
	}
	return nil, nil
}

// checkWire is check on the frame's bytes (see unknown.go); where the scan
// cannot decide, it is check.
func (r *Reader) checkWire(m proto.Message, body []byte) (kind, cause error) {
	if r.opts.allowUnknown && r.opts.allowNoBody {
		return nil, nil
	}
	md := m.ProtoReflect().Descriptor()
	verdict, name := planOf(md).scan(body, !r.opts.allowNoBody)
	switch verdict {
	case wireClean:
		return nil, nil
	case wireNoBody:
		if pm := m.ProtoReflect(); pm.Descriptor().FullName() == name {
			return ErrNoBody, noBodyCause(pm)
		}
		return ErrNoBody, fmt.Errorf("in %s", name)
	}
	// wireUnknown (an error, or allowed unknown fields that stopped the
	// scan) and wireReflect: the reflective check decides, with its order
	// of errors (no body before unknown fields).
	return r.check(m)
}

// findUnknown reports the first message in the tree that has unknown fields.
// It walks the descriptor's fields rather than calling Range, whose callback
// would have to capture its results and so cost heap allocations per message
// on every frame; only maps with message values (and extensions) need a
// callback.
func findUnknown(m protoreflect.Message) (protoreflect.FullName, bool) {
	md := m.Descriptor()
	if len(m.GetUnknown()) > 0 {
		return md.FullName(), true
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		if fd.Message() == nil || fd.ContainingOneof() != nil || !m.Has(fd) {
			continue
		}
		if name, ok := findUnknownIn(fd, m.Get(fd)); ok {
			return name, true
		}
	}
	// A oneof's set field, found with one lookup rather than Has on each.
	oneofs := md.Oneofs()
	for i := 0; i < oneofs.Len(); i++ {
		fd := m.WhichOneof(oneofs.Get(i))
		if fd == nil || fd.Message() == nil {
			continue
		}
		if name, ok := findUnknownIn(fd, m.Get(fd)); ok {
			return name, true
		}
	}
	if md.ExtensionRanges().Len() == 0 {
		return "", false
	}
	var (
		name  protoreflect.FullName
		found bool
	)
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.IsExtension() && fd.Message() != nil {
			name, found = findUnknownIn(fd, v)
		}
		return !found
	})
	return name, found
}

// findUnknownIn looks for unknown fields in v, the value of the message-typed
// (or message-valued map) field fd.
func findUnknownIn(fd protoreflect.FieldDescriptor, v protoreflect.Value) (protoreflect.FullName, bool) {
	switch {
	case fd.IsMap():
		if fd.MapValue().Message() == nil {
			return "", false
		}
		var (
			name  protoreflect.FullName
			found bool
		)
		v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
			name, found = findUnknown(mv.Message())
			return !found
		})
		return name, found
	case fd.IsList():
		l := v.List()
		for i := 0; i < l.Len(); i++ {
			if name, ok := findUnknown(l.Get(i).Message()); ok {
				return name, true
			}
		}
		return "", false
	default:
		return findUnknown(v.Message())
	}
}

// Writer encodes frames onto a stream. It is not safe for concurrent use: one
// goroutine owns it.
type Writer struct {
	w    io.Writer
	opts options
	buf  []byte
	mo   proto.MarshalOptions
}

// NewWriter returns a Writer onto w.
func NewWriter(w io.Writer, opts ...Option) *Writer {
	return &Writer{w: w, opts: buildOptions(opts), buf: make([]byte, 0, 512)}
}

// Write sends m as one frame, together with anything buffered, in a single
// write to the underlying stream.
func (w *Writer) Write(m proto.Message) error {
	if err := w.Buffer(m); err != nil {
		return err
	}
	return w.Flush()
}

// Buffer appends m as one frame to the batch without writing it; Flush sends
// the batch. Use it to batch frames where the caller wants fewer writes.
func (w *Writer) Buffer(m proto.Message) error {
	size := w.mo.Size(m)
	if size > w.opts.maxSize {
		return fmt.Errorf("%w: %d > %d bytes", ErrTooLarge, size, w.opts.maxSize)
	}
	start := len(w.buf)
	w.buf = protowire.AppendVarint(w.buf, uint64(size))
	var err error
	w.buf, err = w.mo.MarshalAppend(w.buf, m)
	if err != nil {
		w.buf = w.buf[:start]
		return fmt.Errorf("marshal frame: %w", err)
	}
	return nil
}

// Buffered returns the number of bytes waiting for Flush.
func (w *Writer) Buffered() int { return len(w.buf) }

// Flush writes the batch in one write. On error the batch is dropped (the
// stream is broken anyway) and the error returned.
func (w *Writer) Flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.w.Write(w.buf)
	if cap(w.buf) > 64<<10 {
		w.buf = make([]byte, 0, 512) // do not keep a large frame's buffer forever
	} else {
		w.buf = w.buf[:0]
	}
	return err
}

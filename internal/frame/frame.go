package frame

import (
	"bufio"
	"errors"
	"fmt"
	"io"

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
)

// Error is a frame error with its position: the frame's number (1-based) and the
// byte offset in the stream where that frame starts.
type Error struct {
	Frame  uint64 // 1 for the first frame of the stream
	Offset int64  // where the frame starts, in bytes from the stream's start
	Length uint64 // the declared body length, when it was read
	Kind   error  // one of the Err* sentinels
	Cause  error  // the underlying error, if any
}

func (e *Error) Error() string {
	s := fmt.Sprintf("frame %d at byte %d: %v", e.Frame, e.Offset, e.Kind)
	if e.Length > 0 {
		s += fmt.Sprintf(" (declared length %d)", e.Length)
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
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
	return e.Kind == ErrOversized || e.Kind == ErrTruncated || e.Kind == ErrBadLength
}

// Option configures a Reader or a Writer.
type Option func(*options)

type options struct {
	maxSize      int
	allowUnknown bool
	allowNoBody  bool
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
	br     *bufio.Reader
	opts   options
	unm    protodelim.UnmarshalOptions
	frame  uint64 // frames read so far
	offset int64  // byte offset of the next frame
	plans  wirePlans
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
		br:    br,
		opts:  o,
		plans: wirePlans{},
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

// Frames returns how many frames were read successfully or with a body error.
func (r *Reader) Frames() uint64 { return r.frame }

// Read decodes the next frame into m. It returns io.EOF, unwrapped, when the
// stream ends cleanly between frames; every other failure is an *Error.
// After an error for which (*Error).Fatal is false, the next Read continues
// with the following frame.
func (r *Reader) Read(m proto.Message) error {
	num, start := r.frame+1, r.offset
	size, n, kind, cause := r.peekLength()
	if kind != nil {
		if kind == io.EOF {
			return io.EOF
		}
		return &Error{Frame: num, Offset: start, Kind: kind, Cause: cause}
	}
	if size > uint64(r.opts.maxSize) {
		return &Error{Frame: num, Offset: start, Length: size, Kind: ErrOversized,
			Cause: fmt.Errorf("limit is %d bytes", r.opts.maxSize)}
	}
	// When the frame fits in the buffer, have all of it buffered before
	// protodelim reads it: a stream that ends or fails inside the body is then
	// told apart for certain from a body that does not decode. A larger frame
	// protodelim reads into a buffer of its own; there, only an error from the
	// protobuf module means the body was read whole and did not decode.
	whole := false
	var body []byte // the body, when it is all in the buffer
	if total := uint64(n) + size; total <= uint64(r.br.Size()) {
		b, err := r.br.Peek(int(total))
		if err != nil {
			return truncatedBody(num, start, size, err)
		}
		whole, body = true, b[n:]
	}
	if err := r.unm.UnmarshalFrom(r.br, m); err != nil {
		if !whole && !errors.Is(err, proto.Error) {
			return truncatedBody(num, start, size, err)
		}
		// protodelim consumed the whole body: the stream stays in sync.
		r.advance(n, size)
		return &Error{Frame: num, Offset: start, Length: size, Kind: ErrUndecodable, Cause: err}
	}
	r.advance(n, size)
	if whole {
		// body still points into the buffer: nothing has been read since
		// the Peek except by protodelim, which consumed exactly this frame,
		// and the buffer is refilled only by the next read.
		kind, cause := r.checkWire(m, body)
		if kind != nil {
			return &Error{Frame: num, Offset: start, Length: size, Kind: kind, Cause: cause}
		}
		return nil
	}
	if kind, cause := r.check(m); kind != nil {
		return &Error{Frame: num, Offset: start, Length: size, Kind: kind, Cause: cause}
	}
	return nil
}

// truncatedBody is the error for a stream that ended (err is io.EOF or
// io.ErrUnexpectedEOF) or failed (any other err) inside a frame's body.
func truncatedBody(num uint64, start int64, size uint64, err error) *Error {
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
// blocks waiting for bytes the writer will not send. kind is io.EOF for a clean
// end of stream, nil on success, otherwise a frame error kind.
func (r *Reader) peekLength() (size uint64, n int, kind, cause error) {
	for i := 1; i <= maxVarintLen; i++ {
		b, err := r.br.Peek(i)
		if err != nil {
			if err == io.EOF && i == 1 {
				return 0, 0, io.EOF, nil
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
			return ErrNoBody, fmt.Errorf("in %s", pm.Descriptor().FullName())
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
	verdict, name := r.plans.scan(r.plans.of(md), body, !r.opts.allowNoBody)
	switch verdict {
	case wireClean:
		return nil, nil
	case wireNoBody:
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

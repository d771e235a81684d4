// Package frame reads and writes the runner protocol's frames: protobuf's
// standard delimited format (a varint length, then one message), through
// google.golang.org/protobuf/encoding/protodelim, so a runner in any language
// speaks it with its own protobuf library.
//
// On top of protodelim it adds what a supervisor reading an untrusted pipe
// needs: a maximum frame size (DefaultMaxSize unless configured); errors that
// say what went wrong and where (*Error, naming the frame number and the byte
// offset where the frame starts, derived from frame sizes rather than from a
// counting wrapper, which would cost an allocation per frame); a check that an
// envelope has its oneof body set and carries no unknown fields (done on the
// frame's bytes against a per-type plan when the frame is in the buffer,
// through protobuf reflection otherwise: unknown.go); FrameBuffered, which
// says whether a whole frame can be read without waiting; and a Writer
// that sends each frame in one write (or batches them when asked).
//
// Text where a frame should start (a stray print on a runner's stdout, whose
// first byte would otherwise be read as a length) is reported as
// ErrTextOnStdout with a quoted excerpt and a hint, and with
// WithStallTimeout a frame that has begun but stays incomplete while the
// stream stays open ends as ErrStalled instead of blocking the reader.
//
// A body that is protobuf with one field wrong (a string that is not UTF-8,
// a field number or wire type its message does not have, a message field
// whose bytes are no message) is told apart from bytes that are no
// protobuf, on the error path only: its *Error names the field, and
// Misencoded and EncoderHint say that its writer's encoder is at fault
// (diagnose.go).
//
// A hostile length never makes the reader allocate more than the limit, and no
// input makes it panic (FuzzDecode checks both).
package frame

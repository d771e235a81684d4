package frame

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// What a bad body's error says of the field at fault, and whether the body
// is protobuf its writer's encoder got wrong (Misencoded) rather than bytes
// that are no protobuf at all (a stray write on the stream). Worked out on
// the error path only: a frame that decodes costs nothing more.
//
// A raw runner's author (a Node.js runner encoding protobuf by hand) got
// "undecodable frame body …: string field contains invalid UTF-8; body …"
// and "message has unknown fields …: in exoactors.v1.TokenChunk; body …",
// both with advice about stray prints on stdout, when the cause was the
// runner's own encoder: protobuf's errors name neither the field nor the
// message.

// fault is what is wrong in a body that parses as protobuf.
type fault int

const (
	faultNone       fault = iota
	faultUTF8             // a string field holds bytes that are not UTF-8
	faultNotMessage       // a message field's bytes do not parse as that message
	faultUnknown          // a field number the message type does not have
	faultWireType         // a known field number with a wire type not its own
)

// diagnoseUndecodable looks for what made proto.Unmarshal refuse body, a
// message of type md whose bytes are all in hand: it walks the bytes
// against the type and returns the first string field that holds invalid
// UTF-8, or the first message field whose bytes do not parse as its
// message, with the field's name; faultNone when the body does not parse
// as protobuf at its top level (then it is garbage, not an encoder's slip)
// or nothing of that kind is found.
func diagnoseUndecodable(md protoreflect.MessageDescriptor, body []byte) (fault, string) {
	f, fd, size, ok := walkBody(md, body, 0)
	if !ok || f == faultNone {
		return faultNone, ""
	}
	where := fmt.Sprintf("%s (field %d)", fd.FullName(), fd.Number())
	if f == faultNotMessage {
		return f, fmt.Sprintf("%s holds %d bytes that do not parse as %s", where, size, fd.Message().FullName())
	}
	return f, where
}

// walkBody walks b, the bytes of a message of type md. ok is false when b
// does not parse as protobuf (tags, lengths, varints) at this level; else
// f is the first fault found in order (what proto.Unmarshal stops at: a
// string that is not UTF-8, a message field that does not parse), with its
// field and, for faultNotMessage, that field's length. Past walkDepth
// nested messages (a recursive type) it looks no deeper.
func walkBody(md protoreflect.MessageDescriptor, b []byte, depth int) (f fault, at protoreflect.FieldDescriptor, size int, ok bool) {
	if depth > walkDepth {
		return faultNone, nil, 0, true
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return faultNone, nil, 0, false
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return faultNone, nil, 0, false
		}
		v := b[:m]
		b = b[m:]
		fd := md.Fields().ByNumber(num)
		if f != faultNone || fd == nil || typ != protowire.BytesType || fd.IsList() && fd.IsPacked() {
			continue // an unknown field, or one protobuf decodes without a check here
		}
		payload, _ := protowire.ConsumeBytes(v)
		switch {
		case fd.Message() != nil && fd.Kind() == protoreflect.MessageKind:
			inner, innerAt, innerSize, innerOK := walkBody(fd.Message(), payload, depth+1)
			switch {
			case !innerOK:
				f, at, size = faultNotMessage, fd, len(payload)
			case inner != faultNone:
				f, at, size = inner, innerAt, innerSize
			}
		case fd.Kind() == protoreflect.StringKind && !utf8.Valid(payload):
			f, at = faultUTF8, fd
		}
	}
	return f, at, size, true
}

// walkDepth bounds walkBody's nesting: the runner protocol's messages nest
// 4 deep; a recursive type could nest as deep as its bytes allow.
const walkDepth = 64

// diagnoseUnknown finds the first message in m's tree that carries unknown
// fields and says what the first of them is: a number its type does not
// have, or a known number written with a wire type not its own (protobuf
// keeps such a field as unknown too). name is that message's full name;
// faultNone when none is found.
func diagnoseUnknown(m protoreflect.Message) (f fault, name protoreflect.FullName, detail string) {
	um := firstWithUnknown(m)
	if um == nil {
		return faultNone, "", ""
	}
	md := um.Descriptor()
	num, typ, n := protowire.ConsumeTag(um.GetUnknown())
	if n < 0 {
		return faultNone, "", ""
	}
	fd := md.Fields().ByNumber(num)
	if fd == nil {
		return faultUnknown, md.FullName(), fmt.Sprintf("field %d, wire type %d (%s), a number %s does not have",
			num, typ, WireTypeName(typ), md.Name())
	}
	return faultWireType, md.FullName(), fmt.Sprintf("field %d (%s, %s) with wire type %d (%s), where its type has %d (%s)",
		num, fd.Name(), kindName(fd), typ, WireTypeName(typ), WireTypeOf(fd), WireTypeName(WireTypeOf(fd)))
}

// firstWithUnknown returns the first message of m's tree (m, then its set
// message fields in the order Range gives them, depth first) that carries
// unknown fields, or nil.
func firstWithUnknown(m protoreflect.Message) protoreflect.Message {
	if len(m.GetUnknown()) > 0 {
		return m
	}
	var found protoreflect.Message
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsMap():
			if fd.MapValue().Message() != nil {
				v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
					found = firstWithUnknown(mv.Message())
					return found == nil
				})
			}
		case fd.Message() == nil:
		case fd.IsList():
			for i := 0; i < v.List().Len() && found == nil; i++ {
				found = firstWithUnknown(v.List().Get(i).Message())
			}
		default:
			found = firstWithUnknown(v.Message())
		}
		return found == nil
	})
	return found
}

// kindName is a field's type as a .proto file writes it.
func kindName(fd protoreflect.FieldDescriptor) string {
	switch {
	case fd.IsMap():
		return fmt.Sprintf("map<%s, %s>", kindName(fd.MapKey()), kindName(fd.MapValue()))
	case fd.Message() != nil:
		return string(fd.Message().FullName())
	case fd.Enum() != nil:
		return string(fd.Enum().FullName())
	}
	return fd.Kind().String()
}

// WireTypeName names a wire type as the protobuf encoding guide does
// ("VARINT", "LEN", "I32", …); docs/protocol.md's wire reference too.
func WireTypeName(typ protowire.Type) string {
	switch typ {
	case protowire.VarintType:
		return "VARINT"
	case protowire.Fixed64Type:
		return "I64"
	case protowire.BytesType:
		return "LEN"
	case protowire.StartGroupType:
		return "SGROUP"
	case protowire.EndGroupType:
		return "EGROUP"
	case protowire.Fixed32Type:
		return "I32"
	}
	return "unknown"
}

// diagnose fills in what e's body says of its fault (the error path of
// Read): m is the message the body was decoded into, body the body's
// bytes when all of them are in hand (nil otherwise).
func diagnose(e *Error, m proto.Message, body []byte) {
	switch e.Kind {
	case ErrUnknownFields:
		f, name, detail := diagnoseUnknown(m.ProtoReflect())
		if f != faultNone {
			e.fault = f
			e.Cause = fmt.Errorf("in %s: %s", name, detail)
		}
	case ErrUndecodable:
		if body != nil {
			e.fault, e.Field = diagnoseUndecodable(m.ProtoReflect().Descriptor(), body)
		} else if e.Cause != nil && strings.Contains(e.Cause.Error(), "invalid UTF-8") {
			// A frame larger than the read buffer: its bytes are gone,
			// but protobuf read it up to a string that is not UTF-8.
			e.fault = faultUTF8
		}
	}
}

// Misencoded reports whether the frame's body is protobuf whose writer's
// encoder got a field wrong (a string that is not UTF-8, a field number
// its message does not have, a wire type not the field's, a message
// field's bytes that do not parse as that message), rather than bytes
// that are no protobuf at all, such as a stray write on the stream.
func (e *Error) Misencoded() bool { return e.fault != faultNone }

// EncoderHint says what to do about a Misencoded frame of a runner's, in
// place of the advice about stray prints that fits bytes that are no
// protobuf; "" when the frame is not Misencoded.
func (e *Error) EncoderHint() string {
	const ref = `docs/protocol.md's "Wire reference"`
	switch e.fault {
	case faultUTF8:
		return "the body is protobuf, but that string field holds bytes that are not UTF-8: the runner's encoder wrote them, not a stray print (a string holds UTF-8 only, a token's text too: a byte-level tokenizer joins a character's bytes before it sends them; " + ref + " has every field's type)"
	case faultNotMessage:
		return "the body is protobuf, but that field's bytes are not its message: the runner's encoder wrote them wrong, not a stray print (a length that does not match what follows? " + ref + " works frames out byte by byte)"
	case faultUnknown:
		return "the body is protobuf, but with a field number its message does not have: the runner's encoder wrote it, not a stray print (" + ref + " lists every field's number); a runner on an SDK: check that its version matches the node's protocol"
	case faultWireType:
		return "the body is protobuf, but that field has a wire type not its own: the runner's encoder wrote it wrong, not a stray print (" + ref + " gives each field's wire type and tag byte)"
	}
	return ""
}

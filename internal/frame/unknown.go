package frame

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// The envelope checks (a oneof "body" is set; no unknown fields anywhere in
// the tree) on the frame's bytes rather than on the decoded message.
//
// The first version walked the decoded message through protobuf reflection:
// per level, WhichOneof, Has and Get, each going through reflect. That was
// about half of the Reader's overhead over a bare proto.Unmarshal
// (docs/performance.md). A frame that fits in the read buffer is now checked
// by scanning its body with protowire against a per-type plan worked out
// once: for each field number, whether the type knows it, which wire types
// protobuf-go decodes into it (any other wire type, like an unknown number,
// lands in the unknown fields), the plan of its message type, and whether it
// is a member of the body oneof. That is one tag decode and one slice index
// per field, no reflection. A frame larger than the buffer (its bytes are
// not all in hand) and types with extension ranges or groups take the
// reflective walk, which stays the reference (TestWireCheckAgrees).

// wireField is what the scan knows about one field number of one type.
type wireField struct {
	known bool
	// wire types protobuf-go decodes into this field: the field's own, and
	// BytesType too for a repeated scalar (packed), or StartGroupType for a
	// group-encoded message (then the reflective walk decides).
	typ, alt protowire.Type
	msg      *wirePlan // the field's message type (a map's entry type), or nil
	body     bool      // a member of the oneof named "body"
}

// wirePlan is one message type's plan.
type wirePlan struct {
	name    protoreflect.FullName
	dense   []wireField // by field number, for numbers below len(dense)
	sparse  map[protowire.Number]*wireField
	hasBody bool // the type has a oneof named "body"
	// reflect: the scan cannot decide for this type (extension ranges,
	// groups); use the reflective walk for the whole frame.
	reflect bool
}

func (p *wirePlan) field(n protowire.Number) *wireField {
	if int(n) < len(p.dense) {
		return &p.dense[n]
	}
	return p.sparse[n] // nil: unknown
}

// maxDense bounds the dense table: field numbers above it go to a map.
const maxDense = 64

// wirePlans maps descriptors to plans. The process shares one (planOf):
// a plan depends on its type alone and never changes once built, and a
// map per Reader was about 2.4 KiB of every runner's memory on the node
// (docs/performance.md, "Events round").
type wirePlans map[protoreflect.MessageDescriptor]*wirePlan

// sharedPlans holds the process's plans: a map that is never written once
// published (readers load it without a lock), replaced under mu by a copy
// with the plans of a type met for the first time, and of the types below
// it. A protocol has a small fixed set of types, so it is copied a few
// times at most.
//
// Bound: one entry per generated message type (and per map entry of one)
// that a Reader met, a fixed set compiled into the binary. Only the
// descriptors of registered types (protoregistry.GlobalTypes: generated
// code, or dynamicpb over a generated descriptor) are cached; a
// descriptor built at run time (protodesc) is a new key each time it is
// built, and its plan is built for the call and dropped (planOf).
var sharedPlans struct {
	mu sync.Mutex
	m  atomic.Pointer[wirePlans]
}

// planOf returns md's plan, building it (and the plans of the types its
// fields refer to) the first time the process meets md. The plan of a
// type that is not registered (registered) is built on each call and not
// kept: the shared map stays bounded by the registered types.
func planOf(md protoreflect.MessageDescriptor) *wirePlan {
	if m := sharedPlans.m.Load(); m != nil {
		if p := (*m)[md]; p != nil {
			return p
		}
	}
	if !registered(md) {
		return wirePlans{}.of(md)
	}
	sharedPlans.mu.Lock()
	defer sharedPlans.mu.Unlock()
	next := wirePlans{}
	if cur := sharedPlans.m.Load(); cur != nil {
		if p := (*cur)[md]; p != nil {
			return p // built while this caller waited for mu
		}
		maps.Copy(next, *cur)
	}
	p := next.of(md) // fills next only: the published plans are never written
	sharedPlans.m.Store(&next)
	return p
}

// registered reports whether md is the descriptor of a type registered in
// protoregistry.GlobalTypes (generated code registers its types at init):
// one descriptor per type name for the process's life.
func registered(md protoreflect.MessageDescriptor) bool {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(md.FullName())
	return err == nil && mt.Descriptor() == md
}

func (ps wirePlans) of(md protoreflect.MessageDescriptor) *wirePlan {
	if p := ps[md]; p != nil {
		return p
	}
	p := &wirePlan{name: md.FullName(), reflect: md.ExtensionRanges().Len() > 0}
	ps[md] = p // before recursing: recursive types refer to themselves
	var body protoreflect.OneofDescriptor
	if od := md.Oneofs().ByName("body"); od != nil {
		body, p.hasBody = od, true
	}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		f := wireField{known: true, typ: WireTypeOf(fd), alt: WireTypeOf(fd)}
		if fd.IsList() && fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind &&
			fd.Kind() != protoreflect.StringKind && fd.Kind() != protoreflect.BytesKind {
			f.alt = protowire.BytesType // packed
		}
		if fd.Kind() == protoreflect.GroupKind {
			p.reflect = true
		}
		if m := fd.Message(); m != nil {
			f.msg = ps.of(m)
			if f.msg.reflect {
				p.reflect = true
			}
		}
		f.body = body != nil && fd.ContainingOneof() == body
		n := fd.Number()
		if n < maxDense {
			for len(p.dense) <= int(n) {
				p.dense = append(p.dense, wireField{})
			}
			p.dense[n] = f
		} else {
			if p.sparse == nil {
				p.sparse = map[protowire.Number]*wireField{}
			}
			p.sparse[n] = &f
		}
	}
	return p
}

// WireTypeOf is the wire type a field of fd's kind is encoded with.
func WireTypeOf(fd protoreflect.FieldDescriptor) protowire.Type {
	switch fd.Kind() {
	case protoreflect.BoolKind, protoreflect.EnumKind, protoreflect.Int32Kind, protoreflect.Sint32Kind,
		protoreflect.Uint32Kind, protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Uint64Kind:
		return protowire.VarintType
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.GroupKind:
		return protowire.StartGroupType
	}
	return protowire.BytesType // string, bytes, message
}

// wireVerdict is the scan's answer.
type wireVerdict int

const (
	wireClean   wireVerdict = iota // no unknown field; body (if any) set
	wireUnknown                    // unknown fields in the type named
	wireNoBody                     // the envelope's body oneof is unset
	wireReflect                    // the scan cannot decide: walk the message
)

// scan checks body, the encoding of a message of plan p's type, which
// proto.Unmarshal has already decoded without error. checkBody asks for the
// body-oneof check at this (the top) level.
func (p *wirePlan) scan(b []byte, checkBody bool) (wireVerdict, protoreflect.FullName) {
	if p.reflect {
		return wireReflect, ""
	}
	bodySet := false
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return wireReflect, "" // Unmarshal accepted it: let the walk decide
		}
		b = b[n:]
		f := p.field(num)
		if f == nil || !f.known || typ != f.typ && typ != f.alt {
			return wireUnknown, p.name
		}
		bodySet = bodySet || f.body
		if f.msg != nil && typ == protowire.BytesType {
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return wireReflect, ""
			}
			if verdict, name := f.msg.scan(v, false); verdict != wireClean {
				return verdict, name
			}
			b = b[m:]
			continue
		}
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return wireReflect, ""
		}
		b = b[m:]
	}
	if checkBody && p.hasBody && !bodySet {
		return wireNoBody, p.name
	}
	return wireClean, ""
}

// noBodyCause says where a body is missing and, when the message carries
// unknown fields instead, their numbers: an envelope whose only field is
// one this version does not know is most likely a body added by a newer
// protocol version, not an empty frame.
func noBodyCause(pm protoreflect.Message) error {
	name := pm.Descriptor().FullName()
	nums := unknownFieldNumbers(pm.GetUnknown())
	switch len(nums) {
	case 0:
		return fmt.Errorf("in %s", name)
	case 1:
		return fmt.Errorf("in %s, which carries only unknown field %d (a body from a newer protocol version?)", name, nums[0])
	}
	s := make([]string, len(nums))
	for i, n := range nums {
		s[i] = strconv.Itoa(int(n))
	}
	return fmt.Errorf("in %s, which carries only unknown fields %s (a body from a newer protocol version?)", name, strings.Join(s, ", "))
}

// unknownFieldNumbers lists the distinct field numbers in unknown-field
// bytes, in order of appearance, at most 8 of them.
func unknownFieldNumbers(b []byte) []protowire.Number {
	var nums []protowire.Number
	for len(b) > 0 && len(nums) < 8 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			break
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			break
		}
		b = b[m:]
		if !slices.Contains(nums, num) {
			nums = append(nums, num)
		}
	}
	return nums
}

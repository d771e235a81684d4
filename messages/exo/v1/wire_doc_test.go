package exov1_test

import (
	"bytes"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protodelim"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/exo-actors/exo-actors/internal/docgen"
	"github.com/exo-actors/exo-actors/internal/frame"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

var update = flag.Bool("update", false, "rewrite the generated parts of docs/protocol.md")

const protocolDoc = "../../../docs/protocol.md"

// TestWireReference checks that the wire reference of docs/protocol.md (the
// worked frames, and every field number, type and enum value of the
// messages the runner protocol reaches) matches the descriptors of the
// generated code. A new user wrote a runner in Node.js from protocol.md
// alone, hand-encoding protobuf, and had to take the field numbers from
// `go doc` struct tags: the page named fields but no numbers, wire types
// or enum values. Run `go test ./messages/exo/v1 -run TestWireReference
// -update` after changing runner.proto.
func TestWireReference(t *testing.T) {
	framing, err := renderExamples()
	if err != nil {
		t.Fatal(err)
	}
	docgen.Check(t, protocolDoc, "edit messages/exo/v1/runner.proto, then go test ./messages/exo/v1 -run TestWireReference -update",
		"go test ./messages/exo/v1 -run TestWireReference -update", *update,
		docgen.Region{Name: "framing", Body: framing},
		docgen.Region{Name: "messages", Body: renderMessages()})
}

// examples are the worked frames: the smallest frame there is, and one that
// holds a Duration and a map, the two encodings a hand-written encoder
// cannot guess from the field names.
var examples = []struct {
	title string
	msg   proto.Message
}{
	{"`RunnerEnvelope{heartbeat: Heartbeat{seq: 1}}`, the runner's first heartbeat",
		&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{Seq: 1}}}},
	{"`SupervisorEnvelope{task: Task{id: \"t1\", kind: \"noop\", timeout: 2.5s, params: {max_tokens: \"8\"}}}`, a task with a Duration and a map",
		&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: &exov1.Task{
			Id: "t1", Kind: "noop", Timeout: durationpb.New(2500 * time.Millisecond),
			Params: map[string]string{"max_tokens": "8"}}}}},
}

// renderExamples encodes each example as a frame (protodelim, what the
// supervisor and the SDKs write), checks that the node's frame reader reads
// it back, and explains it byte by byte.
func renderExamples() (string, error) {
	var b strings.Builder
	for i, ex := range examples {
		var buf bytes.Buffer
		if _, err := (protodelim.MarshalOptions{MarshalOptions: proto.MarshalOptions{Deterministic: true}}).MarshalTo(&buf, ex.msg); err != nil {
			return "", err
		}
		raw := buf.Bytes()
		back := ex.msg.ProtoReflect().New().Interface()
		if err := frame.NewReader(bytes.NewReader(raw)).Read(back); err != nil {
			return "", fmt.Errorf("example %d: the frame reader refuses its frame: %w", i+1, err)
		}
		if !proto.Equal(back, ex.msg) {
			return "", fmt.Errorf("example %d: read back as %v", i+1, back)
		}
		size, n := protowire.ConsumeVarint(raw)
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "A frame of %s, %d bytes:\n\n```\n% x\n```\n\n", ex.title, len(raw), raw)
		b.WriteString("| Bytes | What they are |\n|-------|---------------|\n")
		fmt.Fprintf(&b, "| `% x` | the frame's length, a varint: %s of body follow |\n", raw[:n], plural(int(size), "byte"))
		rows, err := explain(ex.msg.ProtoReflect().Descriptor(), raw[n:], "")
		if err != nil {
			return "", fmt.Errorf("example %d: %w", i+1, err)
		}
		for _, r := range rows {
			fmt.Fprintf(&b, "| `% x` | %s |\n", r.bytes, r.what)
		}
	}
	return b.String(), nil
}

type byteRow struct {
	bytes []byte
	what  string
}

// explain walks the encoding b of a message of type md and says what each
// tag, length and value is. in names the field that holds the message ("" at
// the top).
func explain(md protoreflect.MessageDescriptor, b []byte, in string) ([]byteRow, error) {
	var rows []byteRow
	owner := "`" + string(md.Name()) + "`"
	if md.IsMapEntry() {
		owner = "an entry of " + in
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		fd := md.Fields().ByNumber(num)
		if fd == nil {
			return nil, fmt.Errorf("%s has no field %d", md.FullName(), num)
		}
		rows = append(rows, byteRow{b[:n], fmt.Sprintf("tag of %s field %d `%s`, wire type %d (%s): %d × 8 + %d",
			owner, num, fd.Name(), typ, frame.WireTypeName(typ), num, typ)})
		b = b[n:]
		name := "`" + string(fd.Name()) + "`"
		switch typ {
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			what := fmt.Sprintf("%s = %d", name, v)
			if fd.Kind() == protoreflect.EnumKind {
				what += " (`" + string(fd.Enum().Values().ByNumber(protoreflect.EnumNumber(v)).Name()) + "`)"
			}
			if m > 1 {
				what += ", a varint of " + strconv.Itoa(m) + " bytes (7 bits a byte, lowest first; the top bit says another byte follows)"
			}
			rows = append(rows, byteRow{b[:m], what})
			b = b[m:]
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				return nil, protowire.ParseError(m)
			}
			k := m - len(v)
			rows = append(rows, byteRow{b[:k], fmt.Sprintf("its length: %s", plural(len(v), "byte"))})
			switch {
			case fd.Message() != nil:
				inner, err := explain(fd.Message(), v, name)
				if err != nil {
					return nil, err
				}
				rows = append(rows, inner...)
			case fd.Kind() == protoreflect.StringKind:
				rows = append(rows, byteRow{v, fmt.Sprintf("%s = %s (UTF-8)", name, strconv.Quote(string(v)))})
			default:
				rows = append(rows, byteRow{v, name + ", the bytes as they are"})
			}
			b = b[m:]
		default:
			return nil, fmt.Errorf("field %s: wire type %d in an example", fd.FullName(), typ)
		}
	}
	return rows, nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// reached lists the messages and enums the two envelopes reach, each once:
// the messages of runner.proto in the file's order, then those of other
// files (google.protobuf.Duration); the enums likewise. Map entry types are
// described in their field's row, not listed.
func reached() (msgs []protoreflect.MessageDescriptor, enums []protoreflect.EnumDescriptor) {
	seenM := map[protoreflect.FullName]protoreflect.MessageDescriptor{}
	seenE := map[protoreflect.FullName]protoreflect.EnumDescriptor{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if seenM[md.FullName()] != nil {
			return
		}
		seenM[md.FullName()] = md
		fields := md.Fields()
		for i := 0; i < fields.Len(); i++ {
			fd := fields.Get(i)
			if fd.IsMap() {
				fd = fd.MapValue()
			}
			if e := fd.Enum(); e != nil {
				seenE[e.FullName()] = e
			}
			if m := fd.Message(); m != nil {
				walk(m)
			}
		}
	}
	walk((&exov1.SupervisorEnvelope{}).ProtoReflect().Descriptor())
	walk((&exov1.RunnerEnvelope{}).ProtoReflect().Descriptor())
	runner := exov1.File_messages_exo_v1_runner_proto
	for i := 0; i < runner.Messages().Len(); i++ {
		if md := seenM[runner.Messages().Get(i).FullName()]; md != nil {
			msgs = append(msgs, md)
			delete(seenM, md.FullName())
		}
	}
	for i := 0; i < runner.Enums().Len(); i++ {
		if e := seenE[runner.Enums().Get(i).FullName()]; e != nil {
			enums = append(enums, e)
			delete(seenE, e.FullName())
		}
	}
	var rest []protoreflect.MessageDescriptor
	for _, md := range seenM {
		rest = append(rest, md)
	}
	slices.SortFunc(rest, func(a, b protoreflect.MessageDescriptor) int {
		return strings.Compare(string(a.FullName()), string(b.FullName()))
	})
	var restE []protoreflect.EnumDescriptor
	for _, e := range seenE {
		restE = append(restE, e)
	}
	slices.SortFunc(restE, func(a, b protoreflect.EnumDescriptor) int {
		return strings.Compare(string(a.FullName()), string(b.FullName()))
	})
	return append(msgs, rest...), append(enums, restE...)
}

// displayName is a message's or an enum's name as the tables give it: its
// own name in package exoactors.v1, its full name elsewhere.
func displayName(d protoreflect.Descriptor) string {
	if d.ParentFile().Package() == "exoactors.v1" {
		return string(d.Name())
	}
	return string(d.FullName())
}

// anchor is the link GitHub makes of a "#### message X" or "#### enum X"
// heading.
func anchor(what string, d protoreflect.Descriptor) string {
	return "#" + what + "-" + strings.ToLower(strings.ReplaceAll(displayName(d), ".", ""))
}

// typeText says a field's type, linked to its table; a well-known type's
// fields are spelled out too, since a hand-written encoder writes them.
func typeText(fd protoreflect.FieldDescriptor) string {
	switch {
	case fd.IsMap():
		k, v := fd.MapKey(), fd.MapValue()
		return fmt.Sprintf("map<%s, %s>: repeated entries, each a message {%s %s = 1, %s %s = 2}",
			scalarText(k), scalarText(v), scalarText(k), "`key`", scalarText(v), "`value`")
	case fd.IsList():
		t := "repeated " + scalarText(fd)
		if fd.IsPacked() {
			return t + " (packed: one length-delimited run of values)"
		}
		return t + " (one field per element)"
	}
	return scalarText(fd)
}

func scalarText(fd protoreflect.FieldDescriptor) string {
	switch {
	case fd.Enum() != nil:
		return fmt.Sprintf("enum [`%s`](%s)", displayName(fd.Enum()), anchor("enum", fd.Enum()))
	case fd.Message() != nil:
		md := fd.Message()
		t := fmt.Sprintf("[`%s`](%s)", displayName(md), anchor("message", md))
		if md.ParentFile().Package() == "google.protobuf" {
			var parts []string
			for i := 0; i < md.Fields().Len(); i++ {
				f := md.Fields().Get(i)
				parts = append(parts, fmt.Sprintf("`%s` %s = %d", f.Name(), f.Kind(), f.Number()))
			}
			t += " {" + strings.Join(parts, ", ") + "}"
		}
		return t
	}
	return fd.Kind().String()
}

// renderMessages renders a table of fields for each message the envelopes
// reach, and a table of values for each enum.
func renderMessages() string {
	msgs, enums := reached()
	var b strings.Builder
	for i, md := range msgs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "#### message %s\n\n", displayName(md))
		b.WriteString("| Number | Field | Type | Wire type | Tag byte(s) |\n|--------|-------|------|-----------|-------------|\n")
		for j := 0; j < md.Fields().Len(); j++ {
			fd := md.Fields().Get(j)
			typ := typeText(fd)
			if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
				typ += "; oneof `" + string(od.Name()) + "`"
			}
			w := frame.WireTypeOf(fd)
			fmt.Fprintf(&b, "| %d | `%s` | %s | %d (%s) | `% x` |\n", fd.Number(), fd.Name(), typ, w, frame.WireTypeName(w), protowire.AppendTag(nil, fd.Number(), w))
		}
	}
	for _, e := range enums {
		fmt.Fprintf(&b, "\n#### enum %s\n\n", displayName(e))
		b.WriteString("| Number | Value |\n|--------|-------|\n")
		for j := 0; j < e.Values().Len(); j++ {
			v := e.Values().Get(j)
			fmt.Fprintf(&b, "| %d | `%s` |\n", v.Number(), v.Name())
		}
	}
	return b.String()
}

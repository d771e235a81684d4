package frame

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/dynamicpb"

	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

func tokenEnv() *exov1.RunnerEnvelope {
	return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_ChunkGenerated{ChunkGenerated: &exov1.ChunkGenerated{
		TaskId: "01J9ZK3T8Q6W2M4X7R5B0N1C8D", Index: 3,
		Chunk: &exov1.ChunkGenerated_Token{Token: &exov1.TokenChunk{Text: "tok", TokenId: 1}}}}}
}

// BenchmarkEnvelopeCheck compares the per-frame envelope check on the
// frame's bytes (checkWire) with the reflective walk it replaced (check).
func BenchmarkEnvelopeCheck(b *testing.B) {
	env := tokenEnv()
	body, err := proto.Marshal(env)
	if err != nil {
		b.Fatal(err)
	}
	r := NewReader(nil)
	b.Run("wire", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if k, _ := r.checkWire(env, body); k != nil {
				b.Fatal(k)
			}
		}
	})
	b.Run("reflect", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if k, _ := r.check(env); k != nil {
				b.Fatal(k)
			}
		}
	})
}

// TestWireCheckAgrees: the wire scan gives the reflective check's verdict on
// clean frames, unknown field numbers and wrong wire types at every level,
// and an unset body.
func TestWireCheckAgrees(t *testing.T) {
	unknown := []byte{0xf8, 0x07, 0x01}    // field 127, varint 1
	wrongType := []byte{0x08 | 0x02, 0x00} // field 1 as an empty length-delimited value
	cases := map[string]func() *exov1.RunnerEnvelope{
		"clean":   func() *exov1.RunnerEnvelope { return tokenEnv() },
		"no body": func() *exov1.RunnerEnvelope { return &exov1.RunnerEnvelope{} },
		"no body, unknown": func() *exov1.RunnerEnvelope {
			e := &exov1.RunnerEnvelope{}
			e.ProtoReflect().SetUnknown(unknown)
			return e
		},
		"unknown at envelope": func() *exov1.RunnerEnvelope { e := tokenEnv(); e.ProtoReflect().SetUnknown(unknown); return e },
		"unknown at chunk": func() *exov1.RunnerEnvelope {
			e := tokenEnv()
			e.GetChunkGenerated().ProtoReflect().SetUnknown(unknown)
			return e
		},
		"unknown at token": func() *exov1.RunnerEnvelope {
			e := tokenEnv()
			e.GetChunkGenerated().GetToken().ProtoReflect().SetUnknown(unknown)
			return e
		},
		"wrong type at token": func() *exov1.RunnerEnvelope {
			e := tokenEnv()
			e.GetChunkGenerated().GetToken().ProtoReflect().SetUnknown(wrongType)
			return e
		},
		"heartbeat": func() *exov1.RunnerEnvelope {
			return &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{}}}
		},
		"heartbeat, unknown": func() *exov1.RunnerEnvelope {
			e := &exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{}}}
			e.GetHeartbeat().ProtoReflect().SetUnknown(unknown)
			return e
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			body, err := proto.Marshal(mk())
			if err != nil {
				t.Fatal(err)
			}
			decoded := new(exov1.RunnerEnvelope)
			if err := proto.Unmarshal(body, decoded); err != nil {
				t.Fatal(err)
			}
			r := NewReader(nil)
			wk, wc := r.checkWire(decoded, body)
			rk, rc := r.check(decoded)
			if wk != rk || (wc == nil) != (rc == nil) || wc != nil && wc.Error() != rc.Error() {
				t.Fatalf("wire check says %v (%v), reflective check %v (%v)", wk, wc, rk, rc)
			}
		})
	}
}

// TestSharedPlansConcurrent: Readers on many goroutines build and use the
// process's shared plans at once (from an empty cache, each goroutine
// meeting the types in another order), and every check gives the
// reflective walk's verdict. Run with -race.
func TestSharedPlansConcurrent(t *testing.T) {
	sharedPlans.m.Store(nil)
	unknown := []byte{0xf8, 0x07, 0x01} // field 127, varint 1
	withUnknown := tokenEnv()
	withUnknown.GetChunkGenerated().GetToken().ProtoReflect().SetUnknown(unknown)
	msgs := []proto.Message{
		tokenEnv(),
		withUnknown,
		&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Heartbeat{Heartbeat: &exov1.Heartbeat{TokensProduced: 3}}},
		&exov1.RunnerEnvelope{Body: &exov1.RunnerEnvelope_Hello{Hello: &exov1.Hello{MinVersion: 1, MaxVersion: 2, RunnerId: "r"}}},
		&exov1.SupervisorEnvelope{Body: &exov1.SupervisorEnvelope_Task{Task: &exov1.Task{Id: "t", Kind: "k", Params: map[string]string{"a": "b"}}}},
		&exov1.SupervisorEnvelope{},
	}
	bodies := make([][]byte, len(msgs))
	for i, m := range msgs {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		bodies[i] = b
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*len(msgs))
	for g := range 8 {
		wg.Go(func() {
			r := NewReader(nil)
			for k := range msgs {
				i := (k + g) % len(msgs)
				decoded := msgs[i].ProtoReflect().New().Interface()
				if err := proto.Unmarshal(bodies[i], decoded); err != nil {
					errs <- err
					return
				}
				wk, wc := r.checkWire(decoded, bodies[i])
				rk, rc := r.check(decoded)
				if wk != rk || (wc == nil) != (rc == nil) || wc != nil && wc.Error() != rc.Error() {
					errs <- fmt.Errorf("message %d: wire check says %v (%v), reflective check %v (%v)", i, wk, wc, rk, rc)
				}
			}
		})
	}
	wg.Wait()
	close(errs) // sole sender: the goroutines above, all ended (wg.Wait)
	for err := range errs {
		t.Error(err)
	}
}

// TestSharedPlansKeepOnlyRegisteredTypes: a descriptor built at run time
// (protodesc: a new descriptor each time it is built) is checked like the
// generated type, but its plans are not kept: the process's plans stay
// bounded by the generated types. Before, every such build added its
// types to the shared map for good.
func TestSharedPlansKeepOnlyRegisteredTypes(t *testing.T) {
	body, err := proto.Marshal(tokenEnv())
	if err != nil {
		t.Fatal(err)
	}
	withUnknown := append(append([]byte(nil), body...), 0xf8, 0x07, 0x01) // field 127, varint 1
	r := NewReader(nil)
	if k, c := r.checkWire(tokenEnv(), body); k != nil { // the generated type's plans are cached
		t.Fatalf("generated type: %v (%v)", k, c)
	}
	size := func() int {
		if m := sharedPlans.m.Load(); m != nil {
			return len(*m)
		}
		return 0
	}
	before := size()
	gen := (&exov1.RunnerEnvelope{}).ProtoReflect().Descriptor()
	for range 3 {
		fd, err := protodesc.NewFile(protodesc.ToFileDescriptorProto(gen.ParentFile()), protoregistry.GlobalFiles)
		if err != nil {
			t.Fatal(err)
		}
		md := fd.Messages().ByName(gen.Name())
		m := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(body, m); err != nil {
			t.Fatal(err)
		}
		if k, c := r.checkWire(m, body); k != nil {
			t.Fatalf("runtime descriptor, clean frame: %v (%v)", k, c)
		}
		u := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(withUnknown, u); err != nil {
			t.Fatal(err)
		}
		if k, _ := r.checkWire(u, withUnknown); !errors.Is(k, ErrUnknownFields) {
			t.Fatalf("runtime descriptor, unknown field: %v, want ErrUnknownFields", k)
		}
	}
	if after := size(); after != before {
		t.Fatalf("shared plans grew from %d to %d entries with descriptors built at run time", before, after)
	}
}

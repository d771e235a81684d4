package actors

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

// TestTaskFrameBoundIsAnUpperBound: Submit skips measuring the Task frame
// when taskFrameBound is within the limit, so the bound must never be
// below the frame's size, at every varint length boundary of the fields.
func TestTaskFrameBoundIsAnUpperBound(t *testing.T) {
	sizes := []int{0, 1, 127, 128, 16383, 16384, 1<<21 - 1, 1 << 21}
	for _, payload := range sizes {
		for _, str := range []int{1, 127, 128, 256} {
			for _, params := range []int{0, 1, 5} {
				spec := TaskSpec{ID: strings.Repeat("i", str), Kind: strings.Repeat("k", str), Payload: make([]byte, payload),
					Timeout: 1000 * time.Hour, Params: map[string]string{}}
				for p := range params {
					spec.Params[strings.Repeat("p", str)+string(rune('a'+p))] = strings.Repeat("v", str)
				}
				if b, size := taskFrameBound(spec), proto.Size(taskEnvelope(spec)); b < size {
					t.Errorf("payload %d, strings %d, params %d: bound %d below the frame's %d bytes", payload, str, params, b, size)
				}
			}
		}
	}
}

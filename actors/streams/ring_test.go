package streams

import "testing"

// The ring keeps FIFO order across wrap-around and growth, and never grows
// beyond its max.
func TestRing(t *testing.T) {
	for _, most := range []int{0, 1, 5, 16, 17, 40} {
		r := ring{max: most}
		limit := most
		if limit == 0 {
			limit = 1000
		}
		next, head := uint64(1), uint64(1)
		for round := range 50 {
			for i := 0; i < round%7+1 && r.len() < limit; i++ {
				r.push(&Event{Seq: next})
				next++
			}
			for i := 0; i < round%5 && r.len() > 0; i++ {
				if e := r.pop(); e.Seq != head {
					t.Fatalf("max %d: popped %d, want %d", most, e.Seq, head)
				}
				head++
			}
			if most > 0 && len(r.buf) > most {
				t.Fatalf("max %d: grew to %d", most, len(r.buf))
			}
		}
		if n := r.clear(); uint64(n) != next-head || r.len() != 0 {
			t.Fatalf("max %d: clear dropped %d, held %d", most, n, next-head)
		}
	}
}

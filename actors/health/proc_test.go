package health_test

import (
	"bytes"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/exo-actors/exo-actors/actors/health"
)

func TestParseStat(t *testing.T) {
	line := "4242 (exo runner) S 1 4242 4242 0 -1 4194560 900 0 0 0 150 50 0 0 20 0 8 0 12345 100000000 2560 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0"
	s, err := health.ParseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Alive || s.Zombie || s.State != 'S' || s.CPU != 200 || s.RSS != 2560*uint64(os.Getpagesize()) {
		t.Errorf("parsed %+v", s)
	}
	z, _ := health.ParseStat([]byte(strings.Replace(line, ") S ", ") Z ", 1)))
	if !z.Zombie {
		t.Error("state Z is not a zombie")
	}
	for _, bad := range []string{"", "42 (x", "42 (x) S 1 2", strings.Replace(line, " 150 ", " x ", 1)} {
		if _, err := health.ParseStat([]byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "/proc stat") {
			t.Errorf("ParseStat(%.20q) = %v, want a /proc stat error", bad, err)
		}
	}
	self, err := health.ReadProc(os.Getpid())
	if err != nil || !self.Alive || self.RSS == 0 {
		t.Errorf("ReadProc(self) = %+v, %v", self, err)
	}
	if gone, err := health.ReadProc(1 << 30); err != nil || gone.Alive {
		t.Errorf("ReadProc(no such pid) = %+v, %v", gone, err)
	}
}

// FuzzParseStat: whatever the bytes, ParseStat never panics; a refusal is
// one line that starts "/proc stat"; and what it reads is what the fields
// say (proc(5)): the state after the last ')', a zombie for Z or X, CPU the
// sum of fields 14 and 15 (never wrapped past 2^64), RSS field 24 in bytes
// (0, unknown, when it is no number or does not fit in 64 bits as bytes).
func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 900 0 0 0 150 50 0 0 20 0 8 0 12345 100000000 2560 0"))
	f.Add([]byte("1 (a) b) Z"))
	f.Add([]byte("1 (x) Z 0 1 1 0 -1 4194560 900 0 0 0 18446744073709551615 1 0 0 20 0 8 0 12345 100000000 18446744073709551615 0"))
	f.Add([]byte("1 (x) R 0 1 1 0 -1 4194560 900 0 0 0 1 1 0 0 20 0 8 0 12345 100000000 -1 0"))
	page := uint64(os.Getpagesize())
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := health.ParseStat(b)
		if err != nil {
			if msg := err.Error(); !strings.HasPrefix(msg, "/proc stat") || strings.ContainsAny(msg, "\n\r") {
				t.Fatalf("ParseStat(%q): %q, not one line starting /proc stat", b, msg)
			}
			return
		}
		fields := bytes.Fields(b[bytes.LastIndexByte(b, ')')+1:])
		if !s.Alive || s.State != fields[0][0] || s.Zombie != (s.State == 'Z' || s.State == 'X') {
			t.Fatalf("ParseStat(%q) = %+v: state %q", b, s, fields[0])
		}
		ut, err1 := strconv.ParseUint(string(fields[14-3]), 10, 64)
		st, err2 := strconv.ParseUint(string(fields[15-3]), 10, 64)
		if sum, carry := bits.Add64(ut, st, 0); err1 != nil || err2 != nil || carry != 0 || s.CPU != sum {
			t.Fatalf("ParseStat(%q) = %+v: CPU, with utime %d and stime %d", b, s, ut, st)
		}
		rss, err := strconv.ParseUint(string(fields[24-3]), 10, 64)
		if hi, lo := bits.Mul64(rss, page); s.RSS != 0 && (err != nil || hi != 0 || s.RSS != lo) || s.RSS == 0 && err == nil && hi == 0 && lo != 0 {
			t.Fatalf("ParseStat(%q) = %+v: RSS, with field 24 %q", b, s, fields[24-3])
		}
	})
}

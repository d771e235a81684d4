package health_test

import (
	"os"
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

func FuzzParseStat(f *testing.F) {
	f.Add([]byte("1 (init) S 0 1 1 0 -1 4194560 900 0 0 0 150 50 0 0 20 0 8 0 12345 100000000 2560 0"))
	f.Add([]byte("1 (a) b) Z"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := health.ParseStat(b)
		if err == nil && !s.Alive {
			t.Errorf("no error but not alive: %+v", s)
		}
	})
}

package closecheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckFindsUnmarkedClose(t *testing.T) {
	dir := t.TempDir()
	src := `package p

func f(c chan int, d chan int) {
	close(c) // sole sender: f
	// sole sender: f, after the loop
	close(d)
	close(c)
}
`
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bad, err := Check(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || !strings.Contains(bad[0], "p.go:7:") {
		t.Errorf("bad = %v, want exactly the unmarked close on line 7", bad)
	}
}

func TestRepositoryIsClean(t *testing.T) {
	bad, err := Check("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		t.Error(b)
	}
}

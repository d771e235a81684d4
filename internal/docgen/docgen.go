// Package docgen keeps the generated parts of a document in step with the
// code, for tests: each part lies between a marker line
// "<!-- BEGIN GENERATED NAME: HOW -->" and "<!-- END GENERATED NAME -->",
// and a test renders it from the code, fails when the document differs,
// and rewrites it when run with its -update flag (docs/errors.md,
// docs/protocol.md's wire reference).
package docgen

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Region is one generated part: its marker name and its text.
type Region struct{ Name, Body string }

// Check compares the regions of the document at path with their bodies.
// how is the markers' advice ("edit the code, then go test … -update") and
// cmd the command that rewrites the document; with update, Check rewrites
// it instead of failing.
func Check(t testing.TB, path, how, cmd string, update bool, regions ...Region) {
	t.Helper()
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := old
	for _, r := range regions {
		if doc, err = replaceRegion(doc, path, how, r); err != nil {
			t.Fatal(err)
		}
	}
	if bytes.Equal(doc, old) {
		return
	}
	if update {
		if err := os.WriteFile(path, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", path)
		return
	}
	t.Errorf("%s is out of date with the code: run `%s` and commit the result.\nwant:\n%s", path, cmd, doc)
}

// replaceRegion replaces what lies between r's BEGIN and END marker lines
// with its body.
func replaceRegion(doc []byte, path, how string, r Region) ([]byte, error) {
	begin := fmt.Sprintf("<!-- BEGIN GENERATED %s: %s -->\n", r.Name, how)
	end := fmt.Sprintf("<!-- END GENERATED %s -->\n", r.Name)
	i := bytes.Index(doc, []byte(begin))
	j := bytes.Index(doc, []byte(end))
	if i < 0 || j < i {
		return nil, fmt.Errorf("%s: markers %q and %q not found in order", path, strings.TrimSpace(begin), strings.TrimSpace(end))
	}
	var out bytes.Buffer
	out.Write(doc[:i+len(begin)])
	out.WriteString(r.Body)
	out.Write(doc[j:])
	return out.Bytes(), nil
}

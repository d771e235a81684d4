package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocGoSnippetsImportExo: a Go snippet in docs/ that uses exo. shows
// where exo comes from: its own import line, or the document opens its Go
// with that import (docs/host-guide.md). Before, docs/remote.md's sketch
// (and snippets in cluster.md and runners.md) used exo. with no import (a
// newcomer's trial).
func TestDocGoSnippetsImportExo(t *testing.T) {
	const imp = `import exo "github.com/exo-actors/exo-actors/runtime"`
	docs, err := filepath.Glob("../../docs/*.md")
	if err != nil || len(docs) == 0 {
		t.Fatalf("docs: %v", err)
	}
	block := regexp.MustCompile("(?ms)^[ \t]*```go\n(.*?)^[ \t]*```") // in a list item too
	uses := regexp.MustCompile(`\bexo\.[A-Z]`)
	for _, path := range append(docs, "../../README.md") {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		imported := false // an earlier snippet is the import alone
		for _, m := range block.FindAllStringSubmatchIndex(string(b), -1) {
			code := string(b[m[2]:m[3]])
			if strings.TrimSpace(code) == imp {
				imported = true
				continue
			}
			if uses.MatchString(code) && !imported && !strings.Contains(code, imp) {
				line := strings.Count(string(b[:m[0]]), "\n") + 1
				t.Errorf("%s:%d: a Go snippet uses exo. without %s", filepath.Base(path), line, imp)
			}
		}
	}
}

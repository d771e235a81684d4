package runtime

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"
)

// TestClusterRunnersDocSaysWhatItLists: ClusterClient.Runners returns the
// nodes' lists, Shutdown and Failed runners the nodes retain included,
// other clients' too (a new user's trial found Shutdown runners of
// earlier clients, and the doc said only "the runners of every live
// member"); its comment and docs/cluster.md say so and how to filter.
func TestClusterRunnersDocSaysWhatItLists(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "cluster.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	var comment string
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.Name == "Runners" && fn.Recv != nil && fn.Doc != nil {
			comment = strings.Join(strings.Fields(fn.Doc.Text()), " ")
		}
	}
	for _, want := range []string{"whoever spawned it", "another client", "RetentionLimits", "Shutdown", "Failed", "Status.Terminal()", "Where"} {
		if !strings.Contains(comment, want) {
			t.Errorf("ClusterClient.Runners' comment lacks %q: %s", want, comment)
		}
	}
	raw, err := os.ReadFile("../docs/cluster.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join(strings.Fields(string(raw)), " ")
	if !strings.Contains(doc, "`Runners` concatenates every live member's list, which is the node's: every runner it hosts, whoever spawned it, and the removed runners it retains (`Shutdown` or `Failed`") ||
		!strings.Contains(doc, "`Status.Terminal()`") {
		t.Error("docs/cluster.md does not say what ClusterClient.Runners lists")
	}
}

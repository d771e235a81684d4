package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exo-actors/exo-actors/internal/testutil"
)

// TestDocCertDatesRecipe runs docs/remote.md's recipe for an expired
// certificate and one not valid yet (openssl ca: OpenSSL 3.0's x509 -req
// cannot backdate; a newcomer's trial found no way to try the check) and
// checks that its output is the one the doc shows. The doc's ports are
// moved into the tests' range; nothing listens (both are refused first).
func TestDocCertDatesRecipe(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("openssl not found and CI is set: install Debian's openssl (apt-get install -y openssl); .ci/run does")
		}
		t.Skip("openssl not found: install Debian's openssl to run the doc's certificate recipe")
	}
	b, err := os.ReadFile("../../docs/remote.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := fencedBlocks(string(b))
	var script, want string
	for i, bl := range blocks {
		if bl.lang == "sh" && strings.Contains(bl.text, "openssl ca -batch") && i+1 < len(blocks) {
			script, want = bl.text, blocks[i+1].text
			break
		}
	}
	if script == "" {
		t.Fatal("docs/remote.md has no sh block with the openssl ca recipe")
	}
	dir := t.TempDir()
	// The walkthrough's files the recipe starts from.
	prep := `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj "/CN=exo walkthrough CA" -keyout ca.key -out ca.pem 2>/dev/null &&
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > exo-ext.cnf &&
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=client" -keyout client.key -out client.csr 2>/dev/null &&
printf '{"kinds": {"echo": {"builtin": true}}}\n' > node.json`
	ports := strings.NewReplacer("127.0.0.1:7114", "127.0.0.1:29714", "127.0.0.1:7111", "127.0.0.1:29711")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", prep+" && "+ports.Replace(script))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "EXO="+exoBinary(t))
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := testutil.CombinedOutputChild(cmd) // its own group, on a locked thread
	if err != nil {
		t.Fatalf("the recipe: %v\n%s", err, out)
	}
	got := regexp.MustCompile(`\(now \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`).ReplaceAllString(string(out), "(now …")
	got = strings.NewReplacer("127.0.0.1:29714", "127.0.0.1:7114", "127.0.0.1:29711", "127.0.0.1:7111").Replace(got)
	if got != want {
		t.Errorf("the recipe printed:\n%s\ndocs/remote.md shows:\n%s", got, want)
	}
	for _, f := range []string{"expired.pem", "future.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("the recipe made no %s: %v", f, err)
		}
	}
}

// fencedBlock is one ``` block of a Markdown document: its language and
// its text.
type fencedBlock struct{ lang, text string }

// fencedBlocks lists doc's ``` blocks in order.
func fencedBlocks(doc string) []fencedBlock {
	var out []fencedBlock
	var cur *fencedBlock
	for _, l := range strings.SplitAfter(doc, "\n") {
		switch fence, ok := strings.CutPrefix(l, "```"); {
		case ok && cur == nil:
			cur = &fencedBlock{lang: strings.TrimSpace(fence)}
		case ok:
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += l
		}
	}
	return out
}

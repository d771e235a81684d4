package closecheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"sort"
	"strings"
)

// Marker is the comment text every close() must carry.
const Marker = "// sole sender:"

// Check walks dir and returns "file:line: ..." for each close() call without the
// marker on the same line or the line above. Directories named vendor, testdata
// or starting with "." are skipped.
func Check(dir string) ([]string, error) {
	var bad []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != dir && (name == "vendor" || name == "testdata" || strings.HasPrefix(name, ".") || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		found, err := CheckFile(path)
		if err != nil {
			return err
		}
		bad = append(bad, found...)
		return nil
	})
	sort.Strings(bad)
	return bad, err
}

// CheckFile checks one Go source file.
func CheckFile(path string) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	marked := map[int]bool{}
	for _, cg := range f.Comments {
		for _, c := range cg.List {
			if strings.HasPrefix(c.Text, Marker) {
				marked[fset.Position(c.Slash).Line] = true
			}
		}
	}
	var bad []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		id, ok := call.Fun.(*ast.Ident)
		if !ok || id.Name != "close" || len(call.Args) != 1 {
			return true
		}
		line := fset.Position(call.Pos()).Line
		if !marked[line] && !marked[line-1] {
			bad = append(bad, fmt.Sprintf("%s:%d: close() without %q comment naming the channel's owner", path, line, Marker))
		}
		return true
	})
	return bad, nil
}

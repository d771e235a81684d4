package runtime

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strings"
	"testing"
)

// hostPackages are the only packages whose types may appear in the exported
// API of runtime: itself, its clock, logrus (Config.Logger), and the
// standard library. A host imports runtime and nothing of this module's
// implementation (actors, internal/..., messages/...).
var hostPackages = map[string]bool{
	"github.com/exo-actors/exo-actors/runtime":       true,
	"github.com/exo-actors/exo-actors/runtime/clock": true,
	"github.com/sirupsen/logrus":                     true,
	// System.Metrics returns the node's own Prometheus registry, for the
	// host to serve or gather into its own.
	"github.com/prometheus/client_golang/prometheus": true,
}

func hostPackage(path string) bool {
	if hostPackages[path] {
		return true
	}
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".") // the standard library
}

// TestExportedAPIUsesOnlyHostPackages walks every exported name of runtime
// (constants, variables, functions, types with their exported fields and
// methods, recursively through runtime's own types) and fails on any type
// from a package a host should not need.
func TestExportedAPIUsesOnlyHostPackages(t *testing.T) {
	pkg := typeCheck(t)
	bad := apiViolations(pkg)
	for _, b := range bad {
		t.Errorf("exported API exposes a type a host cannot or should not use: %s", b)
	}
}

// TestAPIWalkerCatchesLeaks: the walker finds non-host types in fields,
// results, map values and methods.
func TestAPIWalkerCatchesLeaks(t *testing.T) {
	const src = `package leak

import (
	"github.com/exo-actors/exo-actors/internal/proc"
	exov1 "github.com/exo-actors/exo-actors/messages/exo/v1"
)

type S struct{ Exit proc.ExitStatus; ok int }

func F() map[string]*exov1.RunnerStatus { return nil }

type T struct{}

func (*T) M() []proc.ExitStatus { return nil }

type fine struct{ Exit proc.ExitStatus }
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "leak.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	bad := apiViolations(check(t, fset, "example.com/leak", []*ast.File{f}, exportData(t)))
	want := []string{
		"F: github.com/exo-actors/exo-actors/messages/exo/v1.RunnerStatus",
		"S.Exit: github.com/exo-actors/exo-actors/internal/proc.ExitStatus",
		"T.M: github.com/exo-actors/exo-actors/internal/proc.ExitStatus",
	}
	if strings.Join(bad, "\n") != strings.Join(want, "\n") {
		t.Errorf("violations:\n%s\nwant:\n%s", strings.Join(bad, "\n"), strings.Join(want, "\n"))
	}
}

// apiViolations lists "where: type" for every non-host type reachable from
// pkg's exported API.
func apiViolations(pkg *types.Package) []string {
	var bad []string
	seen := map[types.Type]bool{}
	reported := map[string]bool{}
	var walk func(where string, t types.Type)
	walk = func(where string, t types.Type) {
		switch t := t.(type) {
		case *types.Named:
			obj := t.Obj()
			if obj.Pkg() == nil { // error, comparable
				return
			}
			if obj.Pkg() != pkg && !hostPackage(obj.Pkg().Path()) {
				if v := fmt.Sprintf("%s: %s", where, types.TypeString(t, nil)); !reported[v] {
					reported[v] = true
					bad = append(bad, v)
				}
				return
			}
			if obj.Pkg() != pkg || seen[t] {
				return // a host package's own type: its API is its own
			}
			seen[t] = true
			name := obj.Name()
			walk(name, t.Underlying())
			for i := range t.NumMethods() {
				if m := t.Method(i); m.Exported() {
					walk(name+"."+m.Name(), m.Type())
				}
			}
		case *types.Alias:
			walk(where, types.Unalias(t))
		case *types.Pointer:
			walk(where, t.Elem())
		case *types.Slice:
			walk(where, t.Elem())
		case *types.Array:
			walk(where, t.Elem())
		case *types.Map:
			walk(where, t.Key())
			walk(where, t.Elem())
		case *types.Chan:
			walk(where, t.Elem())
		case *types.Signature:
			for i := range t.Params().Len() {
				walk(where, t.Params().At(i).Type())
			}
			for i := range t.Results().Len() {
				walk(where, t.Results().At(i).Type())
			}
		case *types.Struct:
			for i := range t.NumFields() {
				if f := t.Field(i); f.Exported() {
					walk(where+"."+f.Name(), f.Type())
				}
			}
		case *types.Interface:
			for i := range t.NumMethods() {
				if m := t.Method(i); m.Exported() {
					walk(where+"."+m.Name(), m.Type())
				}
			}
		}
	}
	scope := pkg.Scope()
	names := scope.Names()
	sort.Strings(names)
	for _, n := range names {
		obj := scope.Lookup(n)
		if !obj.Exported() {
			continue
		}
		if tn, ok := obj.(*types.TypeName); ok {
			walk(n, tn.Type())
			walk(n, types.NewPointer(tn.Type())) // methods on *T
			if named, ok := tn.Type().(*types.Named); ok {
				ms := types.NewMethodSet(types.NewPointer(named))
				for i := range ms.Len() {
					if m := ms.At(i).Obj(); m.Exported() {
						walk(n+"."+m.Name(), m.Type())
					}
				}
			}
			continue
		}
		walk(n, obj.Type())
	}
	return bad
}

// typeCheck type-checks runtime's non-test files, importing the
// dependencies from the go command's export data.
func typeCheck(t *testing.T) *types.Package {
	t.Helper()
	exports := exportData(t)
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var asts []*ast.File
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		asts = append(asts, af)
	}
	return check(t, fset, "github.com/exo-actors/exo-actors/runtime", asts, exports)
}

func check(t *testing.T, fset *token.FileSet, path string, asts []*ast.File, exports map[string]string) *types.Package {
	t.Helper()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		file, ok := exports[path]
		if !ok {
			return nil, fmt.Errorf("no export data for %q", path)
		}
		return os.Open(file)
	})
	conf := types.Config{Importer: imp}
	pkg, err := conf.Check(path, fset, asts, nil)
	if err != nil {
		t.Fatal(err)
	}
	return pkg
}

// exportData maps every dependency of runtime to its export data file.
func exportData(t *testing.T) map[string]string {
	t.Helper()
	goTool := filepath.Join(goruntime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		if goTool, err = exec.LookPath("go"); err != nil {
			t.Fatalf("cannot find the go tool: %v", err)
		}
	}
	out, err := exec.Command(goTool, "list", "-export", "-deps", "-f", "{{.ImportPath}} {{.Export}}", ".").Output()
	if err != nil {
		t.Fatalf("go list -export: %v", err)
	}
	m := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if path, file, ok := strings.Cut(sc.Text(), " "); ok && file != "" {
			m[path] = file
		}
	}
	return m
}

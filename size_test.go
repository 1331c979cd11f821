package iamprune_test

import (
	"bytes"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"testing"
)

// Limits that keep files focused and functions readable (docs/architecture.md);
// test files and generated files are exempt.
const (
	maxFileLines = 700
	maxFuncLines = 80
	// cmd/iamprune only parses flags, builds the app and renders: its
	// non-test code stays under this many lines, so use cases go to app.
	maxCmdLines = 2500
)

func TestSizes(t *testing.T) {
	cmdLines := 0
	walkSource(t, func(path string, src []byte) {
		if filepath.ToSlash(filepath.Dir(path)) == "cmd/iamprune" {
			cmdLines += bytes.Count(src, []byte("\n"))
		}
		if bytes.Contains(src, []byte("\n// Code generated ")) || bytes.HasPrefix(src, []byte("// Code generated ")) {
			return
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n := fset.Position(f.End()).Line; n > maxFileLines {
			t.Errorf("%s: %d lines, over %d: split it by concern", path, n, maxFileLines)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok {
				continue
			}
			if n := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1; n > maxFuncLines {
				t.Errorf("%s:%d: %s is %d lines, over %d: extract its steps", path, fset.Position(fn.Pos()).Line, fn.Name.Name, n, maxFuncLines)
			}
		}
	})
	if cmdLines >= maxCmdLines {
		t.Errorf("cmd/iamprune has %d non-test lines, want under %d: move use cases into app", cmdLines, maxCmdLines)
	}
}

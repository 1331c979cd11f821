package iamprune_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/iamprune/iamprune"

// layers says which of the module's packages each package may import
// (non-test files): the arrows of docs/architecture.md. "" is the root
// package; a trailing "/" allows a whole subtree. A package missing here
// fails the test, so a new package must be placed in a layer.
var layers = map[string][]string{
	"":                  {},
	"internal/input":    {""},
	"internal/jsontree": {},
	"internal/version":  {},
	"internal/manpage":  {"internal/version"},
	// The release builder (make release): a program, imported by nothing.
	"internal/release":  {"internal/version"},
	"internal/yamlnode": {"", "internal/"},

	// Domain logic: pure, no outside dependency.
	"catalog": {""},
	"policy":  {"", "catalog", "internal/"},
	"archive": {""},
	"audit":   {""},
	"decide":  {"", "policy", "catalog"},
	// Findings from IAM's own data, for accounts without the analyzer.
	"iamsource": {""},
	"apply":     {"", "audit", "policy"},
	"render":    {"", "policy", "archive", "exceptions"},
	// The HTML report: SVG charts and tables, drawn from what app gathers.
	"report": {"", "policy", "render"},

	// File formats.
	"config":     {"", "internal/"},
	"exceptions": {"", "catalog", "internal/"},
	"credreport": {"", "internal/"},
	"snapshot":   {"", "policy", "credreport", "internal/"},
	"trigger":    {""},

	// Adapters, one per outside dependency: they never import each other.
	"awsapi":    {"", "archive", "policy", "credreport", "internal/"},
	"remediate": {"", "policy"},
	"sqlite":    {""},
	"dynamodb":  {""},
	"notify":    {"", "internal/"},
	"gitops":    {"", "policy", "internal/"},
	"worker":    {},
	// Findings exported to AWS Security Hub.
	"securityhub": {""},
	// The emulator fakes AWS from a snapshot; it never imports the
	// clients it is there to test.
	"emulator":              {"", "policy", "snapshot", "credreport"},
	"emulator/emulatortest": {"emulator", "snapshot"},
	// Synthetic snapshots for benchmarks and tests.
	"snapshot/snapshottest": {"", "snapshot"},

	// The use cases, shared by the CLI, the Lambda handler and the worker.
	"app": {"", "internal/", "catalog", "policy", "archive", "audit", "decide", "apply", "render", "report",
		"config", "exceptions", "credreport", "snapshot", "trigger", "awsapi", "remediate", "sqlite", "dynamodb",
		"notify", "gitops", "worker", "iamsource", "securityhub"},

	// The demo story needs the emulator, which app may not import.
	"demo": {"", "internal/", "catalog", "policy", "archive", "audit", "decide", "apply", "render", "report",
		"config", "exceptions", "credreport", "snapshot", "trigger", "awsapi", "remediate", "sqlite", "dynamodb",
		"notify", "gitops", "worker", "emulator", "app", "examples", "iamsource", "securityhub"},

	// Test support.
	"mock":      {""},
	"storetest": {""},

	// The binary wires everything; only test support stays out of it.
	"cmd/iamprune": {"", "internal/", "catalog", "policy", "archive", "audit", "decide", "apply", "render", "report",
		"config", "exceptions", "credreport", "snapshot", "trigger", "awsapi", "remediate", "sqlite", "dynamodb",
		"notify", "gitops", "worker", "emulator", "app", "examples", "demo", "iamsource", "securityhub"},

	// Data, deployment and the chaos suite (test files only).
	"examples":                             {},
	"catalog/internal/gen":                 {},
	"deploy/cloudformation":                {""},
	"deploy/cloudformation/internal/zipit": {},
	"chaos":                                {},
	// The benchmark: its generator, and the program scripts/bench runs.
	"internal/bench":     {"snapshot", "emulator"},
	"internal/bench/cmd": {"internal/bench"},
}

func TestLayers(t *testing.T) {
	imports := map[string]map[string]bool{}
	walkSource(t, func(path string, src []byte) {
		f, err := parser.ParseFile(token.NewFileSet(), path, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if pkg == "." {
			pkg = ""
		}
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, spec := range f.Imports {
			p, _ := strconv.Unquote(spec.Path.Value)
			switch {
			case p == module:
				imports[pkg][""] = true
			case strings.HasPrefix(p, module+"/"):
				imports[pkg][strings.TrimPrefix(p, module+"/")] = true
			}
		}
	})
	if len(imports) < 10 {
		t.Fatalf("found only %d packages: is the test running in the module root?", len(imports))
	}
	for pkg, imps := range imports {
		allowed, ok := layers[pkg]
		if !ok {
			t.Errorf("package %q is in no layer: add it to layers (and docs/architecture.md)", pkg)
			continue
		}
		for imp := range imps {
			if !allowedImport(allowed, imp) {
				t.Errorf("package %q imports %q, which its layer does not allow (docs/architecture.md)", show(pkg), show(imp))
			}
		}
	}
	for pkg := range layers {
		if _, err := os.Stat(filepath.FromSlash(strings.TrimSuffix("./"+pkg, "/"))); err != nil && pkg != "" {
			t.Errorf("layers names %q, which does not exist", pkg)
		}
	}
}

// walkSource calls visit with every non-test Go file of the module, from
// its root (hidden folders, testdata and node_modules left out).
func walkSource(t *testing.T, visit func(path string, src []byte)) {
	t.Helper()
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		visit(path, src)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func allowedImport(allowed []string, imp string) bool {
	return slices.ContainsFunc(allowed, func(a string) bool {
		return a == imp || (strings.HasSuffix(a, "/") && strings.HasPrefix(imp, a))
	})
}

func show(pkg string) string {
	if pkg == "" {
		return "iamprune (root)"
	}
	return pkg
}

package configsync

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// decoderFields returns every key name the strict decoders know: the first
// element of each literal in a []field{...}, read from this package's
// source, so that a field added to a decoder is found without a list to
// keep in step.
func decoderFields(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var names []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.CompositeLit)
			if !ok {
				return true
			}
			arr, ok := lit.Type.(*ast.ArrayType)
			if !ok {
				return true
			}
			if id, ok := arr.Elt.(*ast.Ident); !ok || id.Name != "field" {
				return true
			}
			for _, e := range lit.Elts {
				el, ok := e.(*ast.CompositeLit)
				if !ok || len(el.Elts) == 0 {
					continue
				}
				if b, ok := el.Elts[0].(*ast.BasicLit); ok && b.Kind == token.STRING {
					if s, err := strconv.Unquote(b.Value); err == nil {
						names = append(names, s)
					}
				}
			}
			return true
		})
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// TestEveryFieldIsDocumented: every key that nodeconf.yml or config.yml
// may hold is named, as `key`, in docs/configuration.md.
func TestEveryFieldIsDocumented(t *testing.T) {
	names := decoderFields(t)
	// The decoders hold more than a dozen keys; far fewer means the
	// source walk above no longer finds them.
	if len(names) < 15 {
		t.Fatalf("found only %d decoder fields (%v); the walk of []field literals is out of date", len(names), names)
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/configuration.md does not name the config field `%s`", name)
		}
	}
}

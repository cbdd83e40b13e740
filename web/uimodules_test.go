package web

import (
	"io/fs"
	"path"
	"regexp"
	"strings"
	"testing"
)

var (
	jsImport  = regexp.MustCompile(`(?m)^import\s*\{([^}]*)\}\s*from\s*'\./([^']+)';`)
	jsExport  = regexp.MustCompile(`(?m)^export\s+(?:async\s+)?(?:function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)`)
	jsExpList = regexp.MustCompile(`(?m)^export\s*\{([^}]*)\}`)
)

// TestUIModuleImportsResolve checks that every name a dashboard module
// imports from another is exported by it. One missing export makes the
// browser refuse the module graph, and with it every screen.
func TestUIModuleImportsResolve(t *testing.T) {
	exports := map[string]map[string]bool{}
	sources := map[string]string{}
	err := fs.WalkDir(uiFS, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || path.Ext(p) != ".js" {
			return err
		}
		b, err := fs.ReadFile(uiFS, p)
		if err != nil {
			return err
		}
		name := path.Base(p)
		sources[name] = string(b)
		exports[name] = map[string]bool{}
		for _, m := range jsExport.FindAllStringSubmatch(string(b), -1) {
			exports[name][m[1]] = true
		}
		for _, m := range jsExpList.FindAllStringSubmatch(string(b), -1) {
			for _, n := range strings.Split(m[1], ",") {
				if f := strings.Fields(n); len(f) > 0 {
					exports[name][f[len(f)-1]] = true
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for name, src := range sources {
		for _, m := range jsImport.FindAllStringSubmatch(src, -1) {
			from := m[2]
			ex, ok := exports[from]
			if !ok {
				t.Errorf("%s imports from ./%s, which is not embedded", name, from)
				continue
			}
			for _, n := range strings.Split(m[1], ",") {
				f := strings.Fields(n)
				if len(f) == 0 {
					continue
				}
				checked++
				if !ex[f[0]] {
					t.Errorf("%s imports %s from ./%s, which does not export it", name, f[0], from)
				}
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked %d imported names; want the app's (the pattern no longer matches?)", checked)
	}
}

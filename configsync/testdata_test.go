package configsync

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// idRuleText is the advice every bad id gets, spelt out here so the tests
// pin the exact message rather than the implementation's constant.
const idRuleText = "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"

// secretMarker is in every webhook URL under testdata: error messages must
// never contain it (webhook URLs are secrets).
const secretMarker = "SECRET"

// testdataNames returns the file names in testdata/<sub>, and fails the
// test unless every one of them is a key of one of tables: a testdata file
// without a table entry is a rule nobody asserts.
func testdataNames[V1, V2 any](t *testing.T, sub string, valid map[string]V1, invalid map[string]V2) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join("testdata", sub))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		names = append(names, name)
		_, inValid := valid[name]
		_, inInvalid := invalid[name]
		switch {
		case e.IsDir():
			t.Errorf("testdata/%s/%s is a directory; want only files", sub, name)
		case strings.HasPrefix(name, "valid-") && !inValid:
			t.Errorf("testdata/%s/%s has no entry in the valid table", sub, name)
		case strings.HasPrefix(name, "invalid-") && !inInvalid:
			t.Errorf("testdata/%s/%s has no entry in the invalid table", sub, name)
		case !strings.HasPrefix(name, "valid-") && !strings.HasPrefix(name, "invalid-"):
			t.Errorf("testdata/%s/%s: name it valid-*.yml or invalid-<rule>.yml", sub, name)
		}
	}
	for name := range valid {
		if !slices.Contains(names, name) {
			t.Errorf("valid table names testdata/%s/%s, which does not exist", sub, name)
		}
	}
	for name := range invalid {
		if !slices.Contains(names, name) {
			t.Errorf("invalid table names testdata/%s/%s, which does not exist", sub, name)
		}
	}
	return names
}

func readTestdata(t testing.TB, sub, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", sub, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// addTestdataSeeds adds every file of testdata/<sub> to f's seed corpus.
func addTestdataSeeds(f *testing.F, sub string) {
	entries, err := os.ReadDir(filepath.Join("testdata", sub))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		f.Add(readTestdata(f, sub, e.Name()))
	}
}

// problemStrings formats each Problem in err.
func problemStrings(err error) []string {
	var out []string
	for _, p := range Problems(err) {
		out = append(out, p.Error())
	}
	return out
}

// checkProblems checks that err holds exactly the problems want, in order,
// each of them in file, and that its text is want joined by newlines.
func checkProblems(t *testing.T, call string, err error, file string, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s = nil error; want %q", call, want)
	}
	if got := problemStrings(err); !slices.Equal(got, want) {
		t.Errorf("%s problems =\n\t%s\nwant\n\t%s", call, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	if got, want := err.Error(), strings.Join(want, "\n"); got != want {
		t.Errorf("%s.Error() = %q; want %q", call, got, want)
	}
	for _, p := range Problems(err) {
		if p.File != file {
			t.Errorf("%s: problem %q has File %q; want %q", call, p, p.File, file)
		}
	}
}

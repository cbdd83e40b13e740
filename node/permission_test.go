package node

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExplainPermission: a config dir this process cannot write gives an
// error that says who owns it and what to do; other errors pass unchanged.
func TestExplainPermission(t *testing.T) {
	dir := t.TempDir()
	perm := &fs.PathError{Op: "mkdir", Path: filepath.Join(dir, ".private_keys"), Err: fs.ErrPermission}
	err := explainPermission(dir, perm)
	if !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("explainPermission lost the cause: %v", err)
	}
	for _, want := range []string{"cannot write the config dir " + dir, "owned by uid", "--user", "chown -R"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	other := os.ErrNotExist
	if got := explainPermission(dir, other); got != other {
		t.Errorf("explainPermission(other) = %v; want it unchanged", got)
	}
}

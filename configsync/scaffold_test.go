package configsync

import (
	"crypto/ed25519"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// longAgo is an mtime no write by the code under test can produce.
var longAgo = time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)

// ageFiles sets the mtime of paths to longAgo.
func ageFiles(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Chtimes(p, longAgo, longAgo); err != nil {
			t.Fatal(err)
		}
	}
}

// checkUntouched fails unless every path still has mtime longAgo.
func checkUntouched(t *testing.T, call string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", call, err)
		} else if !info.ModTime().Equal(longAgo) {
			t.Errorf("%s changed the mtime of %s to %v; want it untouched", call, p, info.ModTime())
		}
	}
}

func TestScaffoldNetwork(t *testing.T) {
	dir := t.TempDir()
	ref := NetworkRef{Directory: "my-network", NodeID: "my-node", ConfigType: ConfigLocal}
	pub := seededKey(1).Public().(ed25519.PublicKey)
	cfgPath := filepath.Join(dir, "networks", "my-network", "config.yml")
	pubPath := filepath.Join(dir, "networks", "my-network", "pubkeys", "my-node.pub")

	written, err := ScaffoldNetwork(dir, ref, pub)
	if want := []string{cfgPath, pubPath}; err != nil || !slices.Equal(written, want) {
		t.Fatalf("ScaffoldNetwork(fresh dir) = %q, %v; want %q, nil", written, err, want)
	}
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := ParseNetworkConfig(data, "config.yml")
	if err != nil {
		t.Fatalf("ParseNetworkConfig(scaffolded config.yml) = %v; want it valid", err)
	}
	want := NetworkConfig{
		NetworkID:  "my-network",
		NodeConfig: []Member{{NodeID: "my-node", URL: PlaceholderURL, Reachability: ReachabilityAuto}},
		Timing:     DefaultTiming(),
	}
	if !reflect.DeepEqual(*nc, want) {
		t.Errorf("ParseNetworkConfig(scaffolded config.yml) = %+v; want %+v", *nc, want)
	}
	if m, _ := nc.Member("my-node"); !m.HasPlaceholderURL() {
		t.Errorf("scaffolded member url = %q; want the placeholder %q", m.URL, PlaceholderURL)
	}
	data, err = os.ReadFile(pubPath)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ParsePublicKeyPEM(data); err != nil || !got.Equal(pub) {
		t.Errorf("ParsePublicKeyPEM(scaffolded pubkey) = %x, %v; want %x", got, err, pub)
	}
	for _, p := range []string{cfgPath, pubPath} {
		if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o644 {
			t.Errorf("mode of %s = %v, %v; want 0644", p, info.Mode().Perm(), err)
		}
	}

	// What was scaffolded loads, with the warning the user acts on.
	writeTree(t, dir, map[string]string{DefaultNodeConfName: "networks:\n  - directory: my-network\n    node_id: my-node\n"})
	cfg, err := Load(dir, DefaultNodeConfName)
	if err != nil {
		t.Fatalf("Load(scaffolded) = %v; want no error", err)
	}
	if got, want := cfg.Networks[0].Warnings, []string{"set url for node my-node in networks/my-network/config.yml"}; !slices.Equal(got, want) {
		t.Errorf("Load(scaffolded).Warnings = %q; want %q", got, want)
	}

	// A second call writes nothing.
	ageFiles(t, cfgPath, pubPath)
	written, err = ScaffoldNetwork(dir, ref, pub)
	if err != nil || len(written) != 0 {
		t.Errorf("ScaffoldNetwork(second call) = %q, %v; want nothing written", written, err)
	}
	checkUntouched(t, "ScaffoldNetwork(second call)", cfgPath, pubPath)
	noTempFiles(t, filepath.Join(dir, "networks"))
}

func TestScaffoldNetworkNeverOverwrites(t *testing.T) {
	ref := NetworkRef{Directory: "net", NodeID: "me", ConfigType: ConfigLocal}
	pub := seededKey(1).Public().(ed25519.PublicKey)
	other := testPubPEM(t, 2)
	tests := []struct {
		name    string
		files   map[string]string
		written []string
	}{
		{"config.yml exists", map[string]string{"networks/net/config.yml": "edited by hand\n"}, []string{"networks/net/pubkeys/me.pub"}},
		{"pubkey exists", map[string]string{"networks/net/pubkeys/me.pub": other}, []string{"networks/net/config.yml"}},
		{"both exist", map[string]string{"networks/net/config.yml": "", "networks/net/pubkeys/me.pub": other}, nil},
		{"config.yml is a directory", map[string]string{"networks/net/config.yml/": ""}, []string{"networks/net/pubkeys/me.pub"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			var existing []string
			for name := range tt.files {
				existing = append(existing, filepath.Join(dir, strings.TrimSuffix(name, "/")))
			}
			ageFiles(t, existing...)
			written, err := ScaffoldNetwork(dir, ref, pub)
			var want []string
			for _, w := range tt.written {
				want = append(want, filepath.Join(dir, w))
			}
			if err != nil || !slices.Equal(written, want) {
				t.Errorf("ScaffoldNetwork(%s) = %q, %v; want %q, nil", tt.name, written, err, want)
			}
			for name, body := range tt.files {
				if strings.HasSuffix(name, "/") {
					continue
				}
				if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != body {
					t.Errorf("%s after ScaffoldNetwork = %q; want %q", name, got, body)
				}
			}
			checkUntouched(t, "ScaffoldNetwork("+tt.name+")", existing...)
		})
	}
}

// TestScaffoldNetworkIDs checks that the scaffolded config.yml reads back
// with the same ids, whatever YAML would make of them unquoted.
func TestScaffoldNetworkIDs(t *testing.T) {
	for _, id := range []string{"null", "Null", "NULL", "true", "no", "on", "1e3", "0x1F", "007", "1.5", "a.b_c-d", strings.Repeat("x", 64)} {
		t.Run(id, func(t *testing.T) {
			dir := t.TempDir()
			ref := NetworkRef{Directory: id, NodeID: id, ConfigType: ConfigLocal}
			if _, err := ScaffoldNetwork(dir, ref, seededKey(1).Public().(ed25519.PublicKey)); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(filepath.Join(dir, "networks", id, "config.yml"))
			if err != nil {
				t.Fatal(err)
			}
			nc, err := ParseNetworkConfig(data, "config.yml")
			if err != nil {
				t.Fatalf("ParseNetworkConfig(config.yml scaffolded for %q) = %v; want it valid", id, err)
			}
			if nc.NetworkID != id || len(nc.NodeConfig) != 1 || nc.NodeConfig[0].NodeID != id {
				t.Errorf("ParseNetworkConfig(config.yml scaffolded for %q) = %+v; want network_id and node_id %q", id, nc, id)
			}
		})
	}
}

func TestExportPublicKey(t *testing.T) {
	dir := t.TempDir()
	ref := NetworkRef{Directory: "shared", NodeID: "me", ConfigType: ConfigGit}
	path := PublicKeyExportPath(dir, ref)
	if want := filepath.Join(dir, ".public_keys", "shared", "me.pub"); path != want {
		t.Errorf("PublicKeyExportPath = %q; want %q", path, want)
	}
	pub1 := seededKey(1).Public().(ed25519.PublicKey)
	pub2 := seededKey(2).Public().(ed25519.PublicKey)
	steps := []struct {
		name  string
		pub   ed25519.PublicKey
		wrote bool
	}{
		{"first export makes the directory", pub1, true},
		{"same key again", pub1, false},
		{"new key", pub2, true},
		{"new key again", pub2, false},
	}
	for _, s := range steps {
		wrote, err := ExportPublicKey(path, s.pub)
		if err != nil || wrote != s.wrote {
			t.Fatalf("ExportPublicKey(%s) = %v, %v; want %v, nil", s.name, wrote, err, s.wrote)
		}
		if !wrote {
			checkUntouched(t, "ExportPublicKey("+s.name+")", path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := ParsePublicKeyPEM(data); err != nil || !got.Equal(s.pub) {
			t.Errorf("key exported by ExportPublicKey(%s) = %x, %v; want %x", s.name, got, err, s.pub)
		}
		ageFiles(t, path)
	}

	// A file that is not exactly the key is replaced.
	writeTree(t, dir, map[string]string{".public_keys/shared/me.pub": "garbage"})
	if wrote, err := ExportPublicKey(path, pub1); err != nil || !wrote {
		t.Errorf("ExportPublicKey(over garbage) = %v, %v; want true, nil", wrote, err)
	}
	if data, _ := os.ReadFile(path); func() bool { k, err := ParsePublicKeyPEM(data); return err != nil || !k.Equal(pub1) }() {
		t.Errorf("ExportPublicKey(over garbage) left %q; want the key", data)
	}
	noTempFiles(t, filepath.Dir(path))
}

// noTempFiles fails if an atomic write left its temporary file under root.
func noTempFiles(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", path)
		}
		return nil
	})
}

// TestWriteNewNeverReplacesARacingFile: a file that another program (a
// user's cp) creates while writeNew runs is never replaced by writeNew's
// content. A writer that lands before writeNew creates the file must make
// writeNew stand back; one that lands after overwrites it itself. Either
// way the user's content is what stays. The old Lstat-then-rename replaced
// a file created between the two steps.
func TestWriteNewNeverReplacesARacingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yml")
	user := []byte("the user's file\n")
	for i := range 300 {
		if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		start := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			<-start
			// Spin a little, so that the write lands at varying points of
			// writeNew (which syncs its temporary file: a wide window).
			for range i % 50 * 100 {
				runtime.Gosched()
			}
			done <- os.WriteFile(path, user, 0o644)
		}()
		close(start)
		created, err := writeNew(path, []byte("template\n"), 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(user) {
			t.Fatalf("round %d: the file holds %q (writeNew created: %v); want the user's %q", i, got, created, user)
		}
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

package configsync

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ErrGitModeScaffold: ScaffoldNetwork was asked to write into a git-mode
// network's checkout.
var ErrGitModeScaffold = errors.New("git-mode networks are not scaffolded")

// NetworkDir is a network's directory inside the config dir.
func NetworkDir(dir, directory string) string {
	return filepath.Join(dir, "networks", directory)
}

// PublicKeyExportPath is where a git-mode node writes its own public key for
// the repository's maintainers: .public_keys/<directory>/<node_id>.pub.
func PublicKeyExportPath(dir string, ref NetworkRef) string {
	return filepath.Join(dir, ".public_keys", ref.Directory, ref.NodeID+".pub")
}

// ScaffoldNetwork creates what a local network needs and does not have yet:
// networks/<directory>/config.yml listing this node with url replace_me, and
// pubkeys/<node_id>.pub holding pub. Existing files are never changed, so
// a second call writes nothing. It returns the paths it wrote. A git-mode
// network is an error: its directory is a checkout that only GitSync writes,
// and its own key goes to PublicKeyExportPath.
func ScaffoldNetwork(dir string, ref NetworkRef, pub ed25519.PublicKey) ([]string, error) {
	if ref.ConfigType == ConfigGit {
		return nil, fmt.Errorf("network %s: %w: its files come from git_repo; export the key with ExportPublicKey", ref.Directory, ErrGitModeScaffold)
	}
	netDir := NetworkDir(dir, ref.Directory)
	var written []string
	cfgPath := filepath.Join(netDir, "config.yml")
	cfg := fmt.Sprintf(`# Network config written by meshmon on first start. It must be the same on
# every node of the network: list every node, set each url to where that
# node's HTTP port (default 8000) is reachable, and put each node's public
# key (printed by "meshmon keys show") into pubkeys/<node_id>.pub.
network_id: %s
node_config:
  - node_id: %s
    url: %s
`, yamlString(ref.Directory), yamlString(ref.NodeID), PlaceholderURL)
	ok, err := writeNew(cfgPath, []byte(cfg), 0o644)
	if err != nil {
		return written, err
	}
	if ok {
		written = append(written, cfgPath)
	}
	pem, err := MarshalPublicKeyPEM(pub)
	if err != nil {
		return written, err
	}
	pubPath := filepath.Join(netDir, "pubkeys", ref.NodeID+".pub")
	if ok, err = writeNew(pubPath, pem, 0o644); err != nil {
		return written, err
	}
	if ok {
		written = append(written, pubPath)
	}
	return written, nil
}

// yamlString writes s as a YAML scalar that reads back as s: plain where it
// can be, quoted where YAML would read it otherwise (a node named "null"
// would be no node_id at all).
func yamlString(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// ExportPublicKey writes pub to path unless the file already holds exactly
// that key, so repeated starts do not touch the file (and do not wake a
// watcher). It reports whether it wrote.
func ExportPublicKey(path string, pub ed25519.PublicKey) (bool, error) {
	pem, err := MarshalPublicKeyPEM(pub)
	if err != nil {
		return false, err
	}
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, pem) {
		return false, nil
	}
	return true, writeAtomic(path, pem, 0o644)
}

// writeNew creates path holding data, unless path exists: it never
// replaces a file, not even one that another program (a user's cp or
// rsync) creates while this runs. The data goes to a temporary file beside
// path first, which is then hard-linked to path; link(2) fails if path
// exists, so the check and the create are one step, and readers never see
// half a file. It reports whether it created path.
func writeNew(path string, data []byte, mode os.FileMode) (bool, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, err
	}
	tmp, err := writeTemp(dir, filepath.Base(path), data, mode)
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	switch err := os.Link(tmp, path); {
	case err == nil:
		return true, nil
	case errors.Is(err, fs.ErrExist):
		return false, nil
	default:
		return false, fmt.Errorf("write %s: %w", path, err)
	}
}

// writeAtomic writes data to a temporary file beside path and renames it
// into place, so readers never see half a file. It replaces path: only for
// files that are meshmon's own (.public_keys).
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := writeTemp(dir, filepath.Base(path), data, mode)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writeTemp writes data, synced, with mode, to a new temporary file in dir
// named after base, and returns its path.
func writeTemp(dir, base string, data []byte, mode os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	fail := func(err error) (string, error) {
		f.Close()
		os.Remove(tmp)
		return "", fmt.Errorf("write %s: %w", filepath.Join(dir, base), err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(mode); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("write %s: %w", filepath.Join(dir, base), err)
	}
	return tmp, nil
}

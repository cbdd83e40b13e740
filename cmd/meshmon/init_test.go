package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/node"
)

func runCmd(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), append([]string{"meshmon"}, args...), &out, &errb)
	return out.String(), errb.String(), err
}

// TestInitGit: `meshmon init --git-repo` writes a commented nodeconf that
// parses, creates the key, exports the public key for the maintainers and
// says what to do next.
func TestInitGit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "config")
	repo := "https://git.example.com/org/net.git"
	out, _, err := runCmd(t, "init", "--config-dir", dir, "--node-id", "n3", "--network", "prod", "--git-repo", repo, "--git-ref", "stable")
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "nodeconf.yml"))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := configsync.ParseNodeConf(data, "nodeconf.yml")
	if err != nil {
		t.Fatalf("written nodeconf does not parse: %v\n%s", err, data)
	}
	if len(nc.Networks) != 1 {
		t.Fatalf("networks = %+v; want one", nc.Networks)
	}
	ref := nc.Networks[0]
	if ref.Directory != "prod" || ref.NodeID != "n3" || ref.ConfigType != configsync.ConfigGit || ref.GitRepo != repo || ref.GitRef != "stable" ||
		ref.GitInterval != configsync.DefaultGitInterval {
		t.Errorf("network = %+v; want prod/n3, git from %s at stable, default interval", ref, repo)
	}
	if nc.Listen.HTTP != configsync.DefaultListen().HTTP {
		t.Errorf("listen = %+v; want the defaults", nc.Listen)
	}
	// Every field is explained.
	for _, field := range []string{"networks", "directory", "node_id", "config_type", "git_repo", "git_ref", "git_interval", "git_token_env", "git_ssh_key", "discord_webhook", "webhook", "listen", "http", "p2p", "announce"} {
		if !regexp.MustCompile(`(?m)^[\s#]*#[\s#]*` + field + `: \S`).Match(data) {
			t.Errorf("no comment explaining %s:\n%s", field, data)
		}
	}
	exp := filepath.Join(dir, ".public_keys", "prod", "n3.pub")
	pem, err := os.ReadFile(exp)
	if err != nil {
		t.Fatalf("public key for the maintainers: %v", err)
	}
	key, err := node.ShowKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(pem) != key.PublicKeyPEM {
		t.Errorf("%s = %q; want the node's public key %q", exp, pem, key.PublicKeyPEM)
	}
	for _, want := range []string{"Next:", exp, repo, "meshmon run --config-dir " + dir, "meshmon config check --config-dir " + dir, key.PublicKeyPEM, key.PeerID} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}

	// Not cloned yet: config check says so and passes.
	out, _, err = runCmd(t, "config", "check", "--config-dir", dir)
	if err != nil || !strings.Contains(out, "not cloned yet") {
		t.Errorf("config check after init = %v, output:\n%s\nwant ok, \"not cloned yet\"", err, out)
	}
}

// TestInitLocal: without --git-repo the nodeconf is local-mode and a
// starter network config is written; config check accepts it.
func TestInitLocal(t *testing.T) {
	dir := t.TempDir()
	out, _, err := runCmd(t, "init", "--config-dir", dir, "--node-id", "alpha", "--network", "home")
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "nodeconf.yml"))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := configsync.ParseNodeConf(data, "nodeconf.yml")
	if err != nil {
		t.Fatalf("written nodeconf does not parse: %v\n%s", err, data)
	}
	if ref := nc.Networks[0]; ref.Directory != "home" || ref.NodeID != "alpha" || ref.ConfigType != configsync.ConfigLocal {
		t.Errorf("network = %+v; want home/alpha, local", ref)
	}
	netCfg := filepath.Join(dir, "networks", "home", "config.yml")
	for _, want := range []string{"Next:", netCfg, filepath.Join(dir, "networks", "home", "pubkeys", "alpha.pub")} {
		if !strings.Contains(out, want) {
			t.Errorf("init output lacks %q:\n%s", want, out)
		}
	}
	out, _, err = runCmd(t, "config", "check", "--config-dir", dir)
	if err != nil || !strings.Contains(out, "warning: set url for node alpha") {
		t.Errorf("config check after init = %v, output:\n%s\nwant ok with a warning to set the url", err, out)
	}
}

// TestInitNeverOverwrites: an existing nodeconf is an error, exit status
// non-zero, and the file is unchanged.
func TestInitNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nodeconf.yml")
	old := []byte("networks:\n  - directory: mine\n    node_id: me\n")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := runCmd(t, "init", "--config-dir", dir, "--node-id", "n1", "--network", "other")
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "never overwrites") {
		t.Errorf("init over an existing nodeconf = %v; want fs.ErrExist naming %s", err, path)
	}
	if err != nil && exitCode(err) == 0 {
		t.Errorf("exit status 0 for %v", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Errorf("nodeconf changed to %q", got)
	}
	// Nothing else was written either.
	if _, err := os.Stat(filepath.Join(dir, ".private_keys")); !os.IsNotExist(err) {
		t.Errorf("key dir written by a refused init: %v", err)
	}

	// --config-file names another file: that one is written.
	if _, _, err := runCmd(t, "init", "--config-dir", dir, "--config-file", "other.yml", "--node-id", "n1", "--network", "other"); err != nil {
		t.Errorf("init with --config-file other.yml: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.yml")); err != nil {
		t.Error(err)
	}
}

// TestInitBadFlags: invalid or missing flags write nothing.
func TestInitBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad node id", []string{"--node-id", "a b", "--network", "net"}, "--node-id"},
		{"bad network", []string{"--node-id", "n1", "--network", "../x"}, "--network"},
		{"bad repo", []string{"--node-id", "n1", "--network", "net", "--git-repo", "ftp://h/x.git"}, "--git-repo"},
		{"ref without repo", []string{"--node-id", "n1", "--network", "net", "--git-ref", "main"}, "--git-ref"},
		{"no node id", []string{"--network", "net"}, "node-id"},
		{"no network", []string{"--node-id", "n1"}, "network"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, _, err := runCmd(t, append([]string{"init", "--config-dir", dir}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("init %v = %v; want an error about %s", tt.args, err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("init %v wrote %v", tt.args, entries)
			}
		})
	}
}

// TestStarterNodeConfCommentedFields: the commented-out examples are valid
// when uncommented.
func TestStarterNodeConfCommentedFields(t *testing.T) {
	data := string(node.StarterNodeConf(node.InitOptions{NodeID: "n1", Network: "net", GitRepo: "https://git.example.com/a/b.git"}))
	// Uncomment the git fields that suit an https repository, and listen.
	// The example is the last comment line of a field.
	for _, field := range []string{"git_ref", "git_interval", "git_token_env"} {
		all := regexp.MustCompile(`(?m)^\s*# `+field+`: .*$`).FindAllStringIndex(data, -1)
		if len(all) == 0 {
			t.Fatalf("no example of %s", field)
		}
		last := all[len(all)-1]
		data = data[:last[0]] + strings.Replace(data[last[0]:last[1]], "# ", "", 1) + data[last[1]:]
	}
	lines := strings.Split(data, "\n")
	in := false
	for i, l := range lines {
		if l == "# listen:" {
			in = true
		}
		if in {
			lines[i] = strings.TrimPrefix(strings.TrimPrefix(l, "#"), " ")
		}
	}
	data = strings.Join(lines, "\n")
	nc, err := configsync.ParseNodeConf([]byte(data), "nodeconf.yml")
	if err != nil {
		t.Fatalf("uncommented starter nodeconf: %v\n%s", err, data)
	}
	if ref := nc.Networks[0]; ref.GitRef != "main" || ref.GitTokenEnv != "MESHMON_GIT_TOKEN" || ref.GitInterval != configsync.DefaultGitInterval {
		t.Errorf("network = %+v; want the commented examples", ref)
	}
	if len(nc.Listen.P2P) != 4 || len(nc.Listen.Announce) != 1 {
		t.Errorf("listen = %+v; want the defaults and one announce address", nc.Listen)
	}
	if want := configsync.DefaultHTTPConf(); nc.HTTP.ReadTimeout != want.ReadTimeout || nc.HTTP.MaxConnections != want.MaxConnections ||
		nc.HTTP.TLS == nil || nc.HTTP.Auth != nil {
		t.Errorf("http = %+v; want the defaults and the tls example", nc.HTTP)
	}
}

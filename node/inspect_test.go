package node_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/configsync/gittest"
	"github.com/meshmon/meshmon/node"
	"github.com/meshmon/meshmon/node/nodetest"
)

// checkDir is a config dir with one git-mode network following repo.
func checkDir(t *testing.T, repo string) (dir string, ref configsync.NetworkRef) {
	t.Helper()
	dir = t.TempDir()
	nc := fmt.Sprintf("networks:\n  - directory: %s\n    node_id: n1\n    config_type: git\n    git_repo: %q\n", gitDir, repo)
	if err := os.WriteFile(filepath.Join(dir, "nodeconf.yml"), []byte(nc), 0o644); err != nil {
		t.Fatal(err)
	}
	parsed, err := configsync.ParseNodeConf([]byte(nc), "nodeconf.yml")
	if err != nil {
		t.Fatal(err)
	}
	return dir, parsed.Networks[0]
}

func checkConfig(t *testing.T, dir string) (string, error) {
	t.Helper()
	var out strings.Builder
	err := node.CheckConfig(dir, "nodeconf.yml", &out)
	return out.String(), err
}

// TestCheckConfigGit: `meshmon config check` validates a git-mode network
// from its checkout, names the commit and lists local changes.
func TestCheckConfigGit(t *testing.T) {
	repo := gittest.NewRemote(t, "", "main")
	repo.Write("config.yml", nodetest.NetworkYAML(gitNet, "", "",
		nodetest.NetworkMember{NodeID: "n1", URL: "https://n1.example.com:8000"},
		nodetest.NetworkMember{NodeID: "n2", URL: "https://n2.example.com:8000"}))
	repo.Write("pubkeys/n1.pub", nodetest.NodePublicKeyPEM(t, t.TempDir()))
	c1 := repo.CommitAndPush("network")

	dir, ref := checkDir(t, repo.Path)
	// Not cloned yet: said, and not an error (`meshmon run` clones it).
	out, err := checkConfig(t, dir)
	if err != nil || !strings.Contains(out, "not cloned yet") || !strings.Contains(out, repo.Path) {
		t.Fatalf("CheckConfig before the clone = %v, output:\n%s\nwant no error and \"not cloned yet\" naming the repository", err, out)
	}

	if _, err := configsync.NewGitSync(configsync.GitSyncOptions{}).Ensure(context.Background(), dir, ref); err != nil {
		t.Fatal(err)
	}
	out, err = checkConfig(t, dir)
	if err != nil {
		t.Fatalf("CheckConfig = %v; want ok. Output:\n%s", err, out)
	}
	for _, want := range []string{
		"network " + gitNet + " (",
		", git): node n1, 2 member(s)",
		"commit " + c1 + " (refs/heads/main) of " + repo.Path + ", following the remote's default branch",
		"warning: member n2: no public key",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("CheckConfig output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "local changes") {
		t.Errorf("CheckConfig reports local changes in a clean checkout:\n%s", out)
	}

	// Local edits, valid or not, are not the config: the commit is
	// checked, as a node loads it, and the edits are reported.
	checkout := configsync.NetworkDir(dir, gitDir)
	edited := nodetest.NetworkYAML(gitNet, "", "", nodetest.NetworkMember{NodeID: "n1", URL: "https://n1.example.com:8000"})
	bad := "network_id: " + gitNet + "\nnode_config:\n  - node_id: n1\n    url: https://n1.example.com:8000\n    colour: red\n"
	for _, edit := range [][]byte{edited, []byte(bad)} {
		if err := os.WriteFile(filepath.Join(checkout, "config.yml"), edit, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err = checkConfig(t, dir)
		if err != nil {
			t.Fatalf("CheckConfig after a local edit = %v; want the commit checked, ok:\n%s", err, out)
		}
		if !strings.Contains(out, "2 member(s)") || !strings.Contains(out, "local changes not in the repository (not part of the config") ||
			!strings.Contains(out, "config.yml") {
			t.Errorf("CheckConfig after a local edit: output lacks the commit's 2 members or the local change:\n%s", out)
		}
	}
}

// TestCheckConfigGitNotACheckout: a git-mode network whose directory is
// not a checkout is a problem: the node would not use it.
func TestCheckConfigGitNotACheckout(t *testing.T) {
	dir, _ := checkDir(t, "https://git.example.com/org/net.git")
	netDir := configsync.NetworkDir(dir, gitDir)
	if err := os.MkdirAll(netDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := nodetest.NetworkYAML(gitNet, "", "", nodetest.NetworkMember{NodeID: "n1", URL: "https://n1.example.com:8000"})
	if err := os.WriteFile(filepath.Join(netDir, "config.yml"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := checkConfig(t, dir)
	if !errors.Is(err, configsync.ErrNotGitCheckout) || !strings.Contains(err.Error(), "move it away") {
		t.Errorf("CheckConfig = %v; want ErrNotGitCheckout saying to move it away. Output:\n%s", err, out)
	}
}

// TestCheckConfigLocal: a local network is summarised without git details.
func TestCheckConfigLocal(t *testing.T) {
	dir := t.TempDir()
	if _, err := node.WriteCluster(node.ClusterSpec{Dir: dir, NetworkID: "localnet", Names: []string{"a", "b"},
		URLs: []string{"http://127.0.0.1:1", "http://127.0.0.1:2"}}); err != nil {
		t.Fatal(err)
	}
	out, err := checkConfig(t, filepath.Join(dir, "a"))
	if err != nil {
		t.Fatalf("CheckConfig = %v", err)
	}
	if !strings.Contains(out, "ok, 1 network(s)") || !strings.Contains(out, "local): node a, 2 member(s)") || strings.Contains(out, "git") {
		t.Errorf("CheckConfig output:\n%s\nwant one local network of 2 members and no git details", out)
	}
	if strings.Contains(out, "private key") {
		t.Errorf("CheckConfig warns about a 0600 key:\n%s", out)
	}

	// A key others may read: a warning, as OpenSSH gives, not an error.
	key := filepath.Join(dir, "a", configsync.NodeKeyPath)
	if err := os.Chmod(key, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err = checkConfig(t, filepath.Join(dir, "a"))
	if err != nil || !strings.Contains(out, "warning: private key "+key+" has mode 0644") || !strings.Contains(out, "chmod 600") {
		t.Errorf("CheckConfig with a 0644 key = %v:\n%s\nwant ok with a warning saying chmod 600", err, out)
	}
}

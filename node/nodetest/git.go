package nodetest

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/meshmon/meshmon/configsync"
)

// GitRemote is a bare repository on disk, to be a git-mode network's
// git_repo, plus a working clone that commits and force-pushes to it. All of
// it is go-git: no git binary is needed. Its methods fail the test on error.
type GitRemote struct {
	t testing.TB
	// Path is the bare repository; use it as git_repo.
	Path string
	// Dir is the working clone's worktree.
	Dir  string
	work *git.Repository
	// branch is the working clone's current branch.
	branch string
	// n numbers commits, to give each a distinct time.
	n int
}

// NewGitRemote creates a bare repository at path (a new temporary
// directory when path is empty) whose default branch is defaultBranch, and
// an empty working clone on that branch.
func NewGitRemote(t testing.TB, path, defaultBranch string) *GitRemote {
	t.Helper()
	root := t.TempDir()
	if path == "" {
		path = filepath.Join(root, "remote.git")
	}
	r := &GitRemote{t: t, Path: path, Dir: filepath.Join(root, "work"), branch: defaultBranch}
	head := plumbing.NewBranchReferenceName(defaultBranch)
	if _, err := git.PlainInitWithOptions(path, &git.PlainInitOptions{Bare: true, InitOptions: git.InitOptions{DefaultBranch: head}}); err != nil {
		t.Fatalf("init bare repository %s: %v", path, err)
	}
	var err error
	r.work, err = git.PlainInitWithOptions(r.Dir, &git.PlainInitOptions{InitOptions: git.InitOptions{DefaultBranch: head}})
	if err != nil {
		t.Fatalf("init working clone: %v", err)
	}
	if _, err := r.work.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{path}}); err != nil {
		t.Fatal(err)
	}
	return r
}

// Write writes a file of the working clone (name relative to its root).
func (r *GitRemote) Write(name string, data []byte) {
	r.t.Helper()
	p := filepath.Join(r.Dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		r.t.Fatal(err)
	}
}

// Remove deletes a file of the working clone.
func (r *GitRemote) Remove(name string) {
	r.t.Helper()
	if err := os.Remove(filepath.Join(r.Dir, filepath.FromSlash(name))); err != nil {
		r.t.Fatal(err)
	}
}

// Commit records every change of the working clone and returns the commit
// hash (40 hex digits).
func (r *GitRemote) Commit(msg string) string {
	r.t.Helper()
	wt, err := r.work.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		r.t.Fatal(err)
	}
	r.n++
	sig := &object.Signature{Name: "test", Email: "test@example.com", When: time.Unix(1_700_000_000+int64(r.n)*60, 0)}
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatal(err)
	}
	return h.String()
}

// Push force-pushes the current branch to the bare repository.
func (r *GitRemote) Push() {
	r.t.Helper()
	b := plumbing.NewBranchReferenceName(r.branch).String()
	err := r.work.Push(&git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{config.RefSpec("+" + b + ":" + b)}, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		r.t.Fatalf("push %s: %v", r.branch, err)
	}
}

// CommitAndPush commits every change and pushes; it returns the commit.
func (r *GitRemote) CommitAndPush(msg string) string {
	r.t.Helper()
	h := r.Commit(msg)
	r.Push()
	return h
}

// SwitchTo checks out branch in the working clone, creating it at the
// current commit if it does not exist.
func (r *GitRemote) SwitchTo(branch string) {
	r.t.Helper()
	wt, err := r.work.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	name := plumbing.NewBranchReferenceName(branch)
	_, err = r.work.Reference(name, false)
	if err := wt.Checkout(&git.CheckoutOptions{Branch: name, Create: err != nil}); err != nil {
		r.t.Fatalf("checkout %s: %v", branch, err)
	}
	r.branch = branch
}

// ResetTo rewinds the current branch and the worktree to commit; the next
// Push rewrites the remote's history.
func (r *GitRemote) ResetTo(commit string) {
	r.t.Helper()
	wt, err := r.work.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.Reset(&git.ResetOptions{Commit: plumbing.NewHash(commit), Mode: git.HardReset}); err != nil {
		r.t.Fatal(err)
	}
}

// NetworkMember is one node_config entry of NetworkYAML.
type NetworkMember struct {
	NodeID, URL string
}

// NetworkYAML returns a network config.yml with the given members and,
// when set, timing.
func NetworkYAML(networkID, heartbeat, suspectAfter string, members ...NetworkMember) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "network_id: %s\nnode_config:\n", networkID)
	for _, m := range members {
		fmt.Fprintf(&b, "  - node_id: %s\n    url: %s\n", m.NodeID, m.URL)
	}
	if heartbeat != "" || suspectAfter != "" {
		b.WriteString("timing:\n")
		if heartbeat != "" {
			fmt.Fprintf(&b, "  heartbeat: %s\n", heartbeat)
		}
		if suspectAfter != "" {
			fmt.Fprintf(&b, "  suspect_after: %s\n", suspectAfter)
		}
	}
	return []byte(b.String())
}

// NodePublicKeyPEM loads (creating it if needed) the node key of configDir
// and returns its public key as PEM, ready for a repository's pubkeys/.
func NodePublicKeyPEM(t testing.TB, configDir string) []byte {
	t.Helper()
	key, _, _, err := configsync.LoadOrCreateNodeKey(configDir)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := configsync.MarshalPublicKeyPEM(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return pem
}

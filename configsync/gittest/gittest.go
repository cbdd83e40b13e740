// Package gittest gives tests a real git "remote" to sync from: a bare
// repository on disk plus a working clone that commits and force-pushes to
// it. All of it is go-git, so no git binary is needed. Like net/http/httptest
// it is for tests only; every method fails the test on error.
package gittest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Remote is a bare repository and a working clone pushing to it.
type Remote struct {
	t testing.TB
	// Path is the bare repository; use it as git_repo.
	Path string
	// Dir is the working clone's worktree.
	Dir  string
	work *git.Repository
	// branch is the working clone's current branch.
	branch string
	// n numbers commits, to give each a distinct, fixed time.
	n int
}

// NewRemote creates a bare repository at path (in a new temporary directory
// when path is empty) whose default branch (HEAD) is defaultBranch, and an
// empty working clone on that branch.
func NewRemote(t testing.TB, path, defaultBranch string) *Remote {
	t.Helper()
	root := t.TempDir()
	if path == "" {
		path = filepath.Join(root, "remote.git")
	}
	r := &Remote{t: t, Path: path, Dir: filepath.Join(root, "work"), branch: defaultBranch}
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
func (r *Remote) Write(name string, data []byte) {
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
func (r *Remote) Remove(name string) {
	r.t.Helper()
	if err := os.Remove(filepath.Join(r.Dir, filepath.FromSlash(name))); err != nil {
		r.t.Fatal(err)
	}
}

// Commit records every change of the working clone and returns the commit
// hash (40 hex digits).
func (r *Remote) Commit(msg string) string {
	r.t.Helper()
	wt, err := r.work.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		r.t.Fatal(err)
	}
	r.n++
	sig := r.signature(0)
	h, err := wt.Commit(msg, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		r.t.Fatal(err)
	}
	return h.String()
}

func (r *Remote) signature(offset int64) *object.Signature {
	return &object.Signature{Name: "test", Email: "test@example.com", When: time.Unix(1_700_000_000+int64(r.n)*60+offset, 0)}
}

// Push force-pushes refspecs (default: the current branch) to the bare
// repository.
func (r *Remote) Push(refspecs ...string) {
	r.t.Helper()
	if len(refspecs) == 0 {
		b := plumbing.NewBranchReferenceName(r.branch).String()
		refspecs = []string{"+" + b + ":" + b}
	}
	specs := make([]config.RefSpec, 0, len(refspecs))
	for _, s := range refspecs {
		specs = append(specs, config.RefSpec(s))
	}
	err := r.work.Push(&git.PushOptions{RemoteName: "origin", RefSpecs: specs, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		r.t.Fatalf("push %v: %v", refspecs, err)
	}
}

// CommitAndPush commits every change and pushes; it returns the commit.
func (r *Remote) CommitAndPush(msg string) string {
	r.t.Helper()
	h := r.Commit(msg)
	r.Push()
	return h
}

// SwitchTo checks out branch in the working clone, creating it at the
// current commit if it does not exist.
func (r *Remote) SwitchTo(branch string) {
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
func (r *Remote) ResetTo(commit string) {
	r.t.Helper()
	wt, err := r.work.Worktree()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := wt.Reset(&git.ResetOptions{Commit: plumbing.NewHash(commit), Mode: git.HardReset}); err != nil {
		r.t.Fatal(err)
	}
}

// Tag makes an annotated tag at HEAD, replacing one of the same name.
func (r *Remote) Tag(name string) {
	r.t.Helper()
	head, err := r.work.Head()
	if err != nil {
		r.t.Fatal(err)
	}
	_ = r.work.DeleteTag(name)
	if _, err := r.work.CreateTag(name, head.Hash(), &git.CreateTagOptions{Tagger: r.signature(1), Message: name}); err != nil {
		r.t.Fatal(err)
	}
}

// The checkout on disk: opening it, cloning it into place, moving it to a
// new commit, and the local changes that hold an update back.

package configsync

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// LocalChangesError is returned by Fetch when a new commit is available but
// the checkout has local changes that applying it would destroy: edited,
// deleted or staged tracked files, or untracked files the new commit would
// overwrite. Nothing was changed; the commit is applied by the first Fetch
// after the files are reverted.
type LocalChangesError struct {
	// Path is the checkout.
	Path string
	// Commit is the commit that was not applied, 40 hex digits.
	Commit string
	// Files are the files in the way, relative to Path, sorted.
	Files []string
}

// Error names the files and says how to resolve it.
func (e *LocalChangesError) Error() string {
	return fmt.Sprintf("%s has local changes to %s: not applying commit %s until they are reverted (git -C %s checkout -- . ; remove untracked files) or made in the repository",
		e.Path, strings.Join(e.Files, ", "), e.Commit, e.Path)
}

// errNoCheckout: the network's directory is absent or empty.
var errNoCheckout = errors.New("no checkout")

// openCheckout opens the checkout at path and checks that it is one of
// ref's repository. It returns errNoCheckout if path is absent or empty.
func openCheckout(path string, ref NetworkRef) (*git.Repository, error) {
	want := RedactGitURL(ref.GitRepo)
	st, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNoCheckout
	}
	if err != nil {
		return nil, err
	}
	notCheckout := fmt.Errorf("%s: %w (config_type is git): move it away so that %s can be cloned there", path, ErrNotGitCheckout, want)
	if !st.IsDir() {
		return nil, notCheckout
	}
	if entries, err := os.ReadDir(path); err != nil {
		return nil, err
	} else if len(entries) == 0 {
		return nil, errNoCheckout
	}
	repo, err := git.PlainOpenWithOptions(path, &git.PlainOpenOptions{DetectDotGit: false})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, notCheckout
	}
	if err != nil {
		return nil, fmt.Errorf("%s: open checkout: %w", path, err)
	}
	if _, err := repo.Worktree(); err != nil {
		return nil, notCheckout
	}
	rem, err := repo.Remote("origin")
	if err != nil || len(rem.Config().URLs) == 0 {
		return nil, fmt.Errorf("%s: %w: it has no remote origin; move it away so that %s can be cloned there", path, ErrOtherRepository, want)
	}
	if have := RedactGitURL(rem.Config().URLs[0]); !sameRepoURL(have, want) {
		return nil, fmt.Errorf("%s: %w: it is a checkout of %s, not of git_repo %s; move it away so that git_repo can be cloned there",
			path, ErrOtherRepository, have, want)
	}
	return repo, nil
}

// sameRepoURL compares repository URLs, ignoring a trailing "/" or ".git".
func sameRepoURL(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimSuffix(s, "/")
		return strings.TrimSuffix(s, ".git")
	}
	return norm(a) == norm(b)
}

// clone clones ref's repository into a temporary directory beside path,
// validates the commit and renames the directory to path.
func (g *GitSync) clone(ctx context.Context, dir string, ref NetworkRef, path string) (GitState, error) {
	rem, err := g.remote(dir, ref)
	if err != nil {
		return GitState{}, err
	}
	target, err := resolveRemoteRef(ctx, rem, ref.GitRef, "clone")
	if err != nil {
		return GitState{}, err
	}
	parent := filepath.Dir(path)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return GitState{}, err
	}
	// A clone cut short by a crash leaves its temporary directory behind.
	prefix := "." + filepath.Base(path) + ".clone-"
	if stale, err := filepath.Glob(filepath.Join(parent, prefix+"*")); err == nil {
		for _, s := range stale {
			os.RemoveAll(s)
		}
	}
	tmp, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return GitState{}, err
	}
	defer func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	repo, err := git.PlainInit(tmp, false)
	if err != nil {
		return GitState{}, fmt.Errorf("clone: %w", err)
	}
	// .git/config gets the URL without credentials; fetches pass the real one.
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{rem.shown}}); err != nil {
		return GitState{}, fmt.Errorf("clone: %w", err)
	}
	commit, err := fetchTarget(ctx, repo, rem, target, "clone")
	if err != nil {
		return GitState{}, err
	}
	if err := validateCommit(commit, dir, ref); err != nil {
		return GitState{}, &InvalidCommitError{Commit: commit.Hash.String(), Ref: target.String(), Err: err}
	}
	if err := checkout(repo, target, commit.Hash, git.HardReset); err != nil {
		return GitState{}, fmt.Errorf("clone: check out %s: %w", commit.Hash, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return GitState{}, err
	}
	files := g.filesLock(path)
	files.Lock()
	defer files.Unlock()
	// An empty directory in the way (e.g. a volume mount point made by
	// Docker) is replaced; os.Remove never removes a non-empty one.
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return GitState{}, fmt.Errorf("clone: %s is in the way: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return GitState{}, fmt.Errorf("clone: move into place: %w", err)
	}
	tmp = ""
	return GitState{Commit: commit.Hash.String(), Ref: target.String(), FetchedAt: g.now()}, nil
}

// update fetches and, if there is a new valid commit and nothing local is in
// the way, moves the checkout to it.
func (g *GitSync) update(ctx context.Context, dir string, ref NetworkRef, path string, repo *git.Repository) (GitState, bool, error) {
	cur, err := readState(repo)
	if err != nil {
		return cur, false, err
	}
	rem, err := g.remote(dir, ref)
	if err != nil {
		return cur, false, err
	}
	target, err := resolveRemoteRef(ctx, rem, ref.GitRef, "fetch")
	if err != nil {
		return cur, false, err
	}
	commit, err := fetchTarget(ctx, repo, rem, target, "fetch")
	if err != nil {
		return cur, false, err
	}
	cur.FetchedAt = g.now()
	files := g.filesLock(path)
	if commit.Hash.String() == cur.Commit {
		if cur.Ref != target.String() {
			// Same commit under another ref (git_ref changed): no file changes.
			files.Lock()
			defer files.Unlock()
			if err := pointHEAD(repo, target, commit.Hash); err != nil {
				return cur, false, fmt.Errorf("check out %s: %w", target, err)
			}
			cur.Ref = target.String()
		}
		return cur, false, nil
	}
	if err := validateCommit(commit, dir, ref); err != nil {
		return cur, false, &InvalidCommitError{Commit: commit.Hash.String(), Ref: target.String(), Err: err}
	}
	tree, err := commit.Tree()
	if err != nil {
		return cur, false, fmt.Errorf("commit %s: %w", commit.Hash, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return cur, false, err
	}
	_, blocking, err := localChanges(wt, tree)
	if err != nil {
		return cur, false, err
	}
	if len(blocking) > 0 {
		return cur, false, &LocalChangesError{Path: path, Commit: commit.Hash.String(), Files: blocking}
	}
	files.Lock()
	defer files.Unlock()
	if err := checkout(repo, target, commit.Hash, git.MergeReset); err != nil {
		return cur, false, fmt.Errorf("check out %s: %w", commit.Hash, err)
	}
	st, err := readState(repo)
	st.FetchedAt = cur.FetchedAt
	return st, true, err
}

// pointHEAD makes HEAD name target (a branch, set to commit) or, for a
// tag, the commit itself, without touching any file.
func pointHEAD(repo *git.Repository, target plumbing.ReferenceName, commit plumbing.Hash) error {
	if target.IsBranch() {
		if err := repo.Storer.SetReference(plumbing.NewHashReference(target, commit)); err != nil {
			return err
		}
		return repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, target))
	}
	return repo.Storer.SetReference(plumbing.NewHashReference(plumbing.HEAD, commit))
}

// checkout moves HEAD to target at commit and updates the index and the
// files. mode is HardReset for a fresh clone, MergeReset otherwise: it
// updates only the files that differ between the old and the new commit and
// leaves untracked files alone (go-git's HardReset deletes them). If it
// fails, HEAD is restored.
func checkout(repo *git.Repository, target plumbing.ReferenceName, commit plumbing.Hash, mode git.ResetMode) error {
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	oldHead, err := repo.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return err
	}
	var oldBranch *plumbing.Reference
	if target.IsBranch() {
		oldBranch, _ = repo.Storer.Reference(target)
	}
	if err := pointHEAD(repo, target, commit); err != nil {
		return err
	}
	if err := wt.Reset(&git.ResetOptions{Commit: commit, Mode: mode}); err != nil {
		repo.Storer.SetReference(oldHead)
		if oldBranch != nil {
			repo.Storer.SetReference(oldBranch)
		}
		return err
	}
	return nil
}

// localChanges lists the files of the worktree that differ from the index
// or HEAD (all), and those that stop an update to tree (blocking): every
// changed tracked file, and untracked files that tree would overwrite.
// With tree nil, blocking lists the tracked changes only.
func localChanges(wt *git.Worktree, tree *object.Tree) (all, blocking []string, err error) {
	status, err := wt.Status()
	if err != nil {
		return nil, nil, fmt.Errorf("status: %w", err)
	}
	for path, s := range status {
		if s.Staging == git.Unmodified && s.Worktree == git.Unmodified {
			continue
		}
		all = append(all, path)
		if s.Staging == git.Untracked || s.Worktree == git.Untracked {
			if tree != nil {
				if _, err := tree.FindEntry(path); err == nil {
					blocking = append(blocking, path)
				}
			}
			continue
		}
		blocking = append(blocking, path)
	}
	slices.Sort(all)
	slices.Sort(blocking)
	return all, blocking, nil
}

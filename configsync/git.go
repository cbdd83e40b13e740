package configsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	"github.com/go-git/go-git/v5/storage/memory"
)

func init() {
	// go-git's file:// transport (also used for plain local paths) runs
	// the git-upload-pack binary. Use go-git's in-process server instead,
	// so that no git binary is needed at all. This replaces a registry
	// entry of go-git, not state of ours; it happens before main starts.
	client.InstallProtocol("file", server.NewClient(server.DefaultLoader))
}

// Size limits for files read from a commit before it is applied.
const (
	maxConfigSize = 1 << 20
	maxPubkeySize = 64 << 10
)

// Errors of git sync, for errors.Is.
var (
	// ErrNotGitMode: the NetworkRef is not config_type git.
	ErrNotGitMode = errors.New("not a git-mode network")
	// ErrNotGitCheckout: networks/<directory> exists and is not a git
	// checkout. It is never deleted or changed.
	ErrNotGitCheckout = errors.New("not a git checkout")
	// ErrOtherRepository: networks/<directory> is a checkout of a
	// repository other than git_repo. It is never deleted or changed.
	ErrOtherRepository = errors.New("checkout of another repository")
	// ErrRefNotFound: git_ref is neither a branch nor a tag of the
	// repository, or the repository's default branch is unknown.
	ErrRefNotFound = errors.New("no such branch or tag")
)

// GitState describes a git-mode network's checkout.
type GitState struct {
	// Commit is the checked-out commit, 40 hex digits; empty if there is
	// no checkout.
	Commit string
	// Ref is the checked-out branch or tag as a full ref name
	// ("refs/heads/main", "refs/tags/v1"); "HEAD" for another detached
	// commit.
	Ref string
	// FetchedAt is when the repository was last fetched successfully;
	// zero when no fetch happened in the call that returned the state.
	FetchedAt time.Time
	// LocalChanges lists files of the checkout that differ from Commit
	// (edited, deleted, added or untracked), relative to the checkout and
	// sorted; empty when the checkout is clean. While a tracked file is
	// changed, no new commit is applied: see LocalChangesError.
	LocalChanges []string
}

// InvalidCommitError is returned by Fetch (and Ensure's first clone) when
// the commit to apply has a config that does not validate. The checkout
// was not changed.
type InvalidCommitError struct {
	// Commit is the refused commit, 40 hex digits.
	Commit string
	// Ref is the branch or tag that points to it.
	Ref string
	// Err joins every *Problem found; files are named relative to the
	// repository root ("config.yml", "pubkeys/x.pub").
	Err error
}

// Error names the commit and lists every problem.
func (e *InvalidCommitError) Error() string {
	return fmt.Sprintf("commit %s (%s) not applied: its config is invalid:\n%v", e.Commit, e.Ref, e.Err)
}

// Unwrap returns the joined problems, so Problems(err) finds them.
func (e *InvalidCommitError) Unwrap() error { return e.Err }

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

// GitSync clones and updates the checkouts of git-mode networks in
// <config dir>/networks/<directory>. A checkout only ever moves to a commit
// whose config.yml and pubkeys/ validate, and is never deleted.
//
// Make one with NewGitSync; the zero value is not usable. Its methods are
// safe for concurrent use; calls for the same checkout are serialised. They
// block on the network: bound them with the context (an ssh connection
// attempt is also bounded by 30s of its own).
type GitSync struct {
	now    func() time.Time
	getenv func(string) string

	// mu protects the following fields.
	mu sync.Mutex
	// locks serialise work on one checkout; each holds at most one token.
	locks map[string]chan struct{}
}

// GitSyncOptions configures a GitSync. Zero fields take their defaults.
type GitSyncOptions struct {
	// Now stamps GitState.FetchedAt (default time.Now).
	Now func() time.Time
	// Getenv reads the variables named by git_token_env, and
	// SSH_KNOWN_HOSTS and HOME for ssh host keys (default os.Getenv).
	Getenv func(string) string
}

// NewGitSync returns a GitSync.
func NewGitSync(opts GitSyncOptions) *GitSync {
	g := &GitSync{now: opts.Now, getenv: opts.Getenv, locks: map[string]chan struct{}{}}
	if g.now == nil {
		g.now = time.Now
	}
	if g.getenv == nil {
		g.getenv = os.Getenv
	}
	return g
}

// Ensure makes sure the network of ref has a checkout in
// NetworkDir(dir, ref.Directory), dir being the config dir. If there is
// none (or only an empty directory), the repository is cloned into a
// temporary directory beside it, the commit's config is validated, and the
// directory is renamed into place: there is never a half checkout. An
// existing checkout of the same repository is kept as it is, without
// contacting the remote; use Fetch to update it.
//
// git_ref selects a branch or tag; without it the remote's default branch
// (its HEAD) is used.
func (g *GitSync) Ensure(ctx context.Context, dir string, ref NetworkRef) (GitState, error) {
	if err := checkGitRef(ref); err != nil {
		return GitState{}, err
	}
	path := NetworkDir(dir, ref.Directory)
	unlock, err := g.lock(ctx, path)
	if err != nil {
		return GitState{}, fmt.Errorf("network %s: %w", ref.Directory, err)
	}
	defer unlock()
	repo, err := openCheckout(path, ref)
	if errors.Is(err, errNoCheckout) {
		st, err := g.clone(ctx, dir, ref, path)
		if err != nil {
			return GitState{}, fmt.Errorf("network %s: %w", ref.Directory, err)
		}
		return st, nil
	}
	if err != nil {
		return GitState{}, fmt.Errorf("network %s: %w", ref.Directory, err)
	}
	st, err := readState(repo)
	if err != nil {
		return st, fmt.Errorf("network %s: %w", ref.Directory, err)
	}
	return st, nil
}

// Fetch brings the network's checkout to the newest commit of its branch
// or tag, and reports whether the checked-out files changed. Without a
// checkout it clones, as Ensure does.
//
// The checkout is reset to the remote commit (not merged), so force-pushes
// and rewritten history are followed. Before anything in the checkout
// changes, the commit's config.yml and pubkeys/*.pub are read from the
// commit itself and validated; if they do not validate, the checkout is
// left as it is and the error is an *InvalidCommitError naming the commit
// and every problem. If tracked files in the checkout were changed
// locally, it is left as it is and the error is a *LocalChangesError. A
// failed fetch (network down, authentication refused, repository gone)
// also leaves the checkout as it is. On any error the state describes the
// checkout as it is (zero if there is none), so the caller keeps running
// the last good config and tries again at the next interval.
func (g *GitSync) Fetch(ctx context.Context, dir string, ref NetworkRef) (GitState, bool, error) {
	if err := checkGitRef(ref); err != nil {
		return GitState{}, false, err
	}
	path := NetworkDir(dir, ref.Directory)
	unlock, err := g.lock(ctx, path)
	if err != nil {
		return GitState{}, false, fmt.Errorf("network %s: %w", ref.Directory, err)
	}
	defer unlock()
	repo, err := openCheckout(path, ref)
	if errors.Is(err, errNoCheckout) {
		st, err := g.clone(ctx, dir, ref, path)
		if err != nil {
			return GitState{}, false, fmt.Errorf("network %s: %w", ref.Directory, err)
		}
		return st, true, nil
	}
	if err != nil {
		return GitState{}, false, fmt.Errorf("network %s: %w", ref.Directory, err)
	}
	st, changed, err := g.update(ctx, dir, ref, path, repo)
	if err != nil {
		return st, false, fmt.Errorf("network %s: %w", ref.Directory, err)
	}
	return st, changed, nil
}

// ReadCommit returns the commit (40 hex digits) checked out in checkout,
// a git-mode network's directory.
func ReadCommit(checkout string) (string, error) {
	st, err := ReadGitState(checkout)
	if err != nil {
		return "", err
	}
	if st.Commit == "" {
		return "", fmt.Errorf("%s: no commit checked out", checkout)
	}
	return st.Commit, nil
}

// ReadGitState describes the checkout in checkout without contacting the
// remote: commit, ref and local changes (FetchedAt is zero).
func ReadGitState(checkout string) (GitState, error) {
	repo, err := git.PlainOpenWithOptions(checkout, &git.PlainOpenOptions{DetectDotGit: false})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return GitState{}, fmt.Errorf("%s: %w", checkout, ErrNotGitCheckout)
	}
	if err != nil {
		return GitState{}, fmt.Errorf("%s: %w", checkout, err)
	}
	return readState(repo)
}

// errNoCheckout: the network's directory is absent or empty.
var errNoCheckout = errors.New("no checkout")

// checkGitRef checks what git sync needs of ref (ParseNodeConf has
// checked it too; this guards direct callers).
func checkGitRef(ref NetworkRef) error {
	if ref.ConfigType != ConfigGit {
		return fmt.Errorf("network %s: %w", ref.Directory, ErrNotGitMode)
	}
	if !idPattern.MatchString(ref.Directory) {
		return fmt.Errorf("network %q: not a valid directory name: %s", ref.Directory, idRule)
	}
	if ref.GitRepo == "" {
		return fmt.Errorf("network %s: git_repo is empty", ref.Directory)
	}
	return nil
}

// lock takes the lock of one checkout, or gives up when ctx ends.
func (g *GitSync) lock(ctx context.Context, path string) (func(), error) {
	g.mu.Lock()
	ch, ok := g.locks[path]
	if !ok {
		ch = make(chan struct{}, 1)
		g.locks[path] = ch
	}
	g.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

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
	if err := validateCommit(commit, ref); err != nil {
		return GitState{}, &InvalidCommitError{Commit: commit.Hash.String(), Ref: target.String(), Err: err}
	}
	if err := checkout(repo, target, commit.Hash, git.HardReset); err != nil {
		return GitState{}, fmt.Errorf("clone: check out %s: %w", commit.Hash, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return GitState{}, err
	}
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
	if commit.Hash.String() == cur.Commit {
		if cur.Ref != target.String() {
			// Same commit under another ref (git_ref changed): no file changes.
			if err := pointHEAD(repo, target, commit.Hash); err != nil {
				return cur, false, fmt.Errorf("check out %s: %w", target, err)
			}
			cur.Ref = target.String()
		}
		return cur, false, nil
	}
	if err := validateCommit(commit, ref); err != nil {
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
	if err := checkout(repo, target, commit.Hash, git.MergeReset); err != nil {
		return cur, false, fmt.Errorf("check out %s: %w", commit.Hash, err)
	}
	st, err := readState(repo)
	st.FetchedAt = cur.FetchedAt
	return st, true, err
}

// resolveRemoteRef asks the remote which ref to follow: gitRef as a full
// ref name, a branch or a tag; or, when empty, the branch HEAD names.
func resolveRemoteRef(ctx context.Context, rem *gitRemote, gitRef, op string) (plumbing.ReferenceName, error) {
	remote := git.NewRemote(memory.NewStorage(), &config.RemoteConfig{Name: "origin", URLs: []string{rem.url}})
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: rem.auth})
	if err != nil {
		return "", rem.wrap(op, err)
	}
	if len(refs) == 0 {
		return "", fmt.Errorf("%s %s: the repository is empty: push a commit with config.yml and pubkeys/", op, rem.shown)
	}
	byName := map[plumbing.ReferenceName]*plumbing.Reference{}
	for _, r := range refs {
		byName[r.Name()] = r
	}
	if gitRef == "" {
		if head := byName[plumbing.HEAD]; head != nil && head.Type() == plumbing.SymbolicReference {
			if r := byName[head.Target()]; r != nil && r.Name().IsBranch() {
				return r.Name(), nil
			}
		}
		return "", fmt.Errorf("%s %s: %w: the remote does not say which branch is its default; set git_ref", op, rem.shown, ErrRefNotFound)
	}
	candidates := []plumbing.ReferenceName{plumbing.NewBranchReferenceName(gitRef), plumbing.NewTagReferenceName(gitRef)}
	if strings.HasPrefix(gitRef, "refs/") {
		candidates = []plumbing.ReferenceName{plumbing.ReferenceName(gitRef)}
	}
	for _, c := range candidates {
		if r := byName[c]; r != nil && r.Type() == plumbing.HashReference && (c.IsBranch() || c.IsTag()) {
			return c, nil
		}
	}
	return "", fmt.Errorf("%s %s: git_ref %q: %w", op, rem.shown, gitRef, ErrRefNotFound)
}

// localRefName is where a fetched branch or tag is kept in the checkout.
func localRefName(target plumbing.ReferenceName) plumbing.ReferenceName {
	if target.IsBranch() {
		return plumbing.NewRemoteReferenceName("origin", target.Short())
	}
	return target
}

// fetchTarget fetches target (forced: rewritten history replaces the old)
// and returns the commit it points to.
func fetchTarget(ctx context.Context, repo *git.Repository, rem *gitRemote, target plumbing.ReferenceName, op string) (*object.Commit, error) {
	local := localRefName(target)
	err := repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RemoteURL:  rem.url,
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + target.String() + ":" + local.String())},
		Auth:       rem.auth,
		Force:      true,
		Tags:       git.NoTags,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return nil, rem.wrap(op, err)
	}
	r, err := repo.Reference(local, true)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %s: %w", op, rem.shown, target, err)
	}
	commit, err := peelToCommit(repo, r.Hash())
	if err != nil {
		return nil, fmt.Errorf("%s %s: %s: %w", op, rem.shown, target, err)
	}
	return commit, nil
}

// peelToCommit follows annotated tags to the commit they name.
func peelToCommit(repo *git.Repository, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		obj, err := repo.Object(plumbing.AnyObject, h)
		if err != nil {
			return nil, err
		}
		switch o := obj.(type) {
		case *object.Commit:
			return o, nil
		case *object.Tag:
			h = o.Target
		default:
			return nil, fmt.Errorf("%s is a %s, not a commit", h, obj.Type())
		}
	}
	return nil, fmt.Errorf("%s: tags nested too deep", h)
}

// validateCommit checks the network config in commit's tree the way
// LoadNetwork and Load would check it on disk, plus that every
// pubkeys/*.pub parses. It returns every problem joined, or nil.
func validateCommit(commit *object.Commit, ref NetworkRef) error {
	tree, err := commit.Tree()
	if err != nil {
		return &Problem{File: "(commit)", Msg: fmt.Sprintf("cannot read the commit's files: %v", err)}
	}
	var errs []error
	data, err := readTreeFile(tree, "config.yml", maxConfigSize)
	switch {
	case errors.Is(err, object.ErrFileNotFound) || errors.Is(err, object.ErrEntryNotFound):
		errs = append(errs, &Problem{File: "config.yml", Msg: "missing: the repository must hold config.yml at its root"})
	case err != nil:
		errs = append(errs, &Problem{File: "config.yml", Msg: err.Error()})
	default:
		nc, err := ParseNetworkConfig(data, "config.yml")
		if err != nil {
			errs = append(errs, flatten(err)...)
		} else if _, ok := nc.Member(ref.NodeID); !ok {
			errs = append(errs, &Problem{File: "config.yml", Path: "node_config",
				Msg: fmt.Sprintf("%q (this node's node_id in nodeconf) is not in node_config: add it there", ref.NodeID)})
		}
	}
	keys, err := tree.Tree("pubkeys")
	switch {
	case errors.Is(err, object.ErrDirectoryNotFound) || errors.Is(err, object.ErrEntryNotFound):
	case err != nil:
		errs = append(errs, &Problem{File: "pubkeys", Msg: err.Error()})
	default:
		for _, e := range keys.Entries {
			if !strings.HasSuffix(e.Name, ".pub") {
				continue
			}
			file := "pubkeys/" + e.Name
			data, err := readTreeFile(keys, e.Name, maxPubkeySize)
			if err != nil {
				errs = append(errs, &Problem{File: file, Msg: err.Error()})
				continue
			}
			if _, err := ParsePublicKeyPEM(data); err != nil {
				errs = append(errs, &Problem{File: file, Msg: err.Error()})
			}
		}
	}
	return errors.Join(errs...)
}

// flatten returns the Problems in err, or err itself if it holds none.
func flatten(err error) []error {
	ps := Problems(err)
	if len(ps) == 0 {
		return []error{err}
	}
	out := make([]error, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// readTreeFile reads a regular file of at most limit bytes from tree.
func readTreeFile(tree *object.Tree, name string, limit int64) ([]byte, error) {
	e, err := tree.FindEntry(name)
	if err != nil {
		return nil, err
	}
	if e.Mode != filemode.Regular && e.Mode != filemode.Executable {
		return nil, fmt.Errorf("not a regular file (mode %s): commit the file itself, not a link or directory", e.Mode)
	}
	f, err := tree.TreeEntryFile(e)
	if err != nil {
		return nil, err
	}
	if f.Size > limit {
		return nil, fmt.Errorf("too large (%d bytes, at most %d)", f.Size, limit)
	}
	r, err := f.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, limit))
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

// readState describes a checkout from its HEAD and worktree status.
func readState(repo *git.Repository) (GitState, error) {
	var st GitState
	head, err := repo.Storer.Reference(plumbing.HEAD)
	if err != nil {
		return st, fmt.Errorf("read HEAD: %w", err)
	}
	if head.Type() == plumbing.SymbolicReference {
		st.Ref = head.Target().String()
		r, err := repo.Reference(head.Target(), true)
		switch {
		case errors.Is(err, plumbing.ErrReferenceNotFound):
			// No commit yet.
		case err != nil:
			return st, fmt.Errorf("read %s: %w", head.Target(), err)
		default:
			st.Commit = r.Hash().String()
		}
	} else {
		st.Commit = head.Hash().String()
		st.Ref = tagAt(repo, head.Hash())
	}
	wt, err := repo.Worktree()
	if err != nil {
		return st, err
	}
	st.LocalChanges, _, err = localChanges(wt, nil)
	return st, err
}

// tagAt returns the first tag (by name) that points to commit, or "HEAD".
func tagAt(repo *git.Repository, commit plumbing.Hash) string {
	tags, err := repo.Tags()
	if err != nil {
		return plumbing.HEAD.String()
	}
	var names []string
	tags.ForEach(func(r *plumbing.Reference) error {
		if c, err := peelToCommit(repo, r.Hash()); err == nil && c.Hash == commit {
			names = append(names, r.Name().String())
		}
		return nil
	})
	if len(names) == 0 {
		return plumbing.HEAD.String()
	}
	slices.Sort(names)
	return names[0]
}

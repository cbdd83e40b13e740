package configsync

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
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
	// files guard the files of one checkout: held for writing only while
	// a fetch moves HEAD and the working tree (never while it talks to
	// the remote), for reading by HoldCheckout.
	files map[string]*sync.RWMutex
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
	g := &GitSync{now: opts.Now, getenv: opts.Getenv, locks: map[string]chan struct{}{}, files: map[string]*sync.RWMutex{}}
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

// HoldCheckout keeps every fetch of this GitSync from moving the network's
// checkout until release is called, so that a load reads one commit's
// files. It waits only for a checkout being moved, not for a fetch talking
// to the remote.
func (g *GitSync) HoldCheckout(dir string, ref NetworkRef) (release func()) {
	mu := g.filesLock(NetworkDir(dir, ref.Directory))
	mu.RLock()
	return mu.RUnlock
}

// filesLock returns the lock of one checkout's files.
func (g *GitSync) filesLock(path string) *sync.RWMutex {
	g.mu.Lock()
	defer g.mu.Unlock()
	mu, ok := g.files[path]
	if !ok {
		mu = &sync.RWMutex{}
		g.files[path] = mu
	}
	return mu
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

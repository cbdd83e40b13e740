// The state of a checkout: its commit, ref and local changes.

package configsync

import (
	"errors"
	"fmt"
	"slices"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
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

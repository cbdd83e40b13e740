// Fetching: which remote ref to follow, and fetching it into a checkout.

package configsync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
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

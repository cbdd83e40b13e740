// Validating a commit before it is applied: its config.yml and pubkeys/
// are read from the commit itself.

package configsync

import (
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing/object"
)

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

// validateCommit checks the network config in commit's tree with the same
// function that loads a network from disk (loadNetworkFS), plus that this
// node is a member, as Load checks. A member whose key is malformed is not
// a problem of the commit: like a local network, it runs with that member
// marked "no key". It returns every problem joined, or nil.
func validateCommit(commit *object.Commit, dir string, ref NetworkRef) error {
	tree, err := commit.Tree()
	if err != nil {
		return &Problem{File: "(commit)", Msg: fmt.Sprintf("cannot read the commit's files: %v", err)}
	}
	nw, err := loadNetworkFS(treeFS{root: tree}, dir, ref, "")
	if err != nil {
		return errors.Join(flatten(err)...)
	}
	if _, ok := nw.Config.Member(ref.NodeID); !ok {
		return &Problem{File: "config.yml", Path: "node_config",
			Msg: fmt.Sprintf("%q (this node's node_id in nodeconf) is not in node_config: add it there", ref.NodeID)}
	}
	return nil
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

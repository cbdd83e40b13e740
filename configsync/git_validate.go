// Validating a commit before it is applied: its config.yml and pubkeys/
// are read from the commit itself.

package configsync

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// Size limits for files read from a commit before it is applied.
const (
	maxConfigSize = 1 << 20
	maxPubkeySize = 64 << 10
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

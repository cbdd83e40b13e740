package node

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/p2p"
)

// KeyInfo is what `meshmon keys show` prints.
type KeyInfo struct {
	// Path is the private key file.
	Path string
	// PeerID is the node's libp2p peer ID on every network.
	PeerID string
	// PublicKeyPEM is what goes into other members' pubkeys/<node_id>.pub.
	PublicKeyPEM string
	// Created tells whether the key was created just now.
	Created bool
	// Adopted names an upstream per-network key adopted as the node key.
	Adopted string
}

// ShowKey loads (creating it on first use) the node key in configDir.
func ShowKey(configDir string) (KeyInfo, error) {
	key, created, adopted, err := configsync.LoadOrCreateNodeKey(configDir)
	if err != nil {
		return KeyInfo{}, err
	}
	pub := key.Public().(ed25519.PublicKey)
	pid, err := p2p.PeerIDFromPublicKey(pub)
	if err != nil {
		return KeyInfo{}, err
	}
	pem, err := configsync.MarshalPublicKeyPEM(pub)
	if err != nil {
		return KeyInfo{}, err
	}
	return KeyInfo{
		Path:         filepath.Join(configDir, configsync.NodeKeyPath),
		PeerID:       pid.String(),
		PublicKeyPEM: string(pem),
		Created:      created,
		Adopted:      adopted,
	}, nil
}

// CheckConfig validates nodeconf and every network config in configDir
// without writing anything or contacting any remote, prints a summary of
// what is valid to w, and returns every problem found (errors.Join of
// configsync problems and other errors).
//
// A git-mode network is validated from its checked-out commit, as a node
// loads it: the summary names the commit and ref and lists local changes
// (files that differ from the commit: not part of the config, and they
// hold back updates). A git-mode network not cloned yet is listed as such
// and not an error: `meshmon run` clones it. A node key that group or
// others may read is a warning.
func CheckConfig(configDir, configFile string, w io.Writer) error {
	notCloned := func(ref configsync.NetworkRef) bool {
		if ref.ConfigType != configsync.ConfigGit {
			return false
		}
		entries, err := os.ReadDir(configsync.NetworkDir(configDir, ref.Directory))
		return errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0)
	}
	cfg, err := configsync.LoadSkipping(configDir, configFile, notCloned)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: ok, %d network(s)\n", filepath.Join(configDir, configFile), len(cfg.Node.Networks))
	if warn := configsync.KeyModeWarning(filepath.Join(configDir, configsync.NodeKeyPath)); warn != "" {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
	var errs []error
	for _, nw := range cfg.Networks {
		fmt.Fprintf(w, "network %s (%s, %s): node %s, %d member(s)\n",
			nw.Config.NetworkID, nw.Path, nw.Ref.ConfigType, nw.Ref.NodeID, len(nw.Config.NodeConfig))
		if nw.Ref.ConfigType == configsync.ConfigGit {
			if err := printGitState(w, nw); err != nil {
				errs = append(errs, err)
			}
		}
		ids := make([]string, 0, len(nw.KeyErrors))
		for id := range nw.KeyErrors {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			fmt.Fprintf(w, "  warning: member %s: %v\n", id, nw.KeyErrors[id])
		}
		for _, warn := range nw.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", warn)
		}
	}
	for _, ref := range cfg.Skipped {
		fmt.Fprintf(w, "network %s (%s, git): not cloned yet: `meshmon run` clones %s there\n",
			ref.Directory, configsync.NetworkDir(configDir, ref.Directory), configsync.RedactGitURL(ref.GitRepo))
	}
	return errors.Join(errs...)
}

// printGitState prints the commit, ref and local changes of a git-mode
// network's checkout. A directory that is not a checkout is an error: the
// node would not use it.
func printGitState(w io.Writer, nw configsync.Network) error {
	st, err := configsync.ReadGitState(nw.Path)
	if errors.Is(err, configsync.ErrNotGitCheckout) {
		return fmt.Errorf("network %s: %s is %w (config_type is git): move it away so that `meshmon run` can clone %s there",
			nw.Ref.Directory, nw.Path, configsync.ErrNotGitCheckout, configsync.RedactGitURL(nw.Ref.GitRepo))
	}
	if err != nil {
		return fmt.Errorf("network %s: read checkout: %w", nw.Ref.Directory, err)
	}
	follow := "the remote's default branch"
	if nw.Ref.GitRef != "" {
		follow = "git_ref " + nw.Ref.GitRef
	}
	commit := st.Commit
	if commit == "" {
		commit = "none"
	}
	fmt.Fprintf(w, "  git: commit %s (%s) of %s, following %s; checked from this commit, not fetched\n",
		commit, st.Ref, configsync.RedactGitURL(nw.Ref.GitRepo), follow)
	if len(st.LocalChanges) > 0 {
		fmt.Fprintf(w, "  warning: local changes not in the repository (not part of the config, and they hold back updates; revert them or make them in the repository): %s\n",
			strings.Join(st.LocalChanges, ", "))
	}
	return nil
}

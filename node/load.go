package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/meshmon/meshmon/configsync"
)

// cloneTimeout bounds a git network's first clone during a load.
const cloneTimeout = 2 * time.Minute

// loadConfig does the file work of a start or reload: it scaffolds missing
// local networks, exports this node's key for git networks and clones those
// not cloned yet, then loads and validates the whole config. A git network
// whose first clone fails is left out (and retried by the git loop) so the
// node's other networks still run. Nothing is changed in the running node.
func (n *Node) loadConfig(ctx context.Context) (*configsync.Config, error) {
	dir, file := n.opts.ConfigDir, n.opts.ConfigFile
	pub := n.key.Public().(ed25519.PublicKey)
	ncPath := filepath.Join(dir, file)
	data, err := os.ReadFile(ncPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no node configuration: create it as the README shows (networks: - directory: D, node_id: N)", ncPath)
	}
	if err != nil {
		return nil, err
	}
	nc, err := configsync.ParseNodeConf(data, file)
	if err != nil {
		return nil, err
	}
	pending := map[string]bool{}
	for _, ref := range nc.Networks {
		if ref.ConfigType == configsync.ConfigGit {
			n.prepareGit(ctx, ref, pub, pending)
			continue
		}
		written, err := configsync.ScaffoldNetwork(dir, ref, pub)
		if err != nil {
			return nil, err
		}
		for _, w := range written {
			n.log.Info("scaffolded network file", "network", ref.Directory, "path", w)
		}
		if len(written) > 0 {
			n.log.Info("next: edit the network config, set every url, and copy every member's pubkey into pubkeys/",
				"config", filepath.Join(configsync.NetworkDir(dir, ref.Directory), "config.yml"),
				"keys", filepath.Join(configsync.NetworkDir(dir, ref.Directory), "pubkeys"))
		}
	}
	cfg, err := configsync.LoadSkipping(dir, file, func(ref configsync.NetworkRef) bool { return pending[ref.Directory] })
	if err != nil {
		return nil, err
	}
	keyPath := filepath.Join(dir, configsync.NodeKeyPath)
	for i, nw := range cfg.Networks {
		own, ok := nw.Pubkeys[nw.Ref.NodeID]
		if !ok || own.Equal(pub) {
			continue
		}
		if nw.Ref.ConfigType == configsync.ConfigGit {
			// The repository's maintainers hold a stale key for this node.
			// Refusing the config would keep every commit from now on out
			// (and stop the whole node from starting once the checkout has
			// moved to such a commit): run it and say what to send them.
			// Peers reject this node's messages until the key is fixed.
			cfg.Networks[i].Warnings = append(slices.Clone(nw.Warnings), fmt.Sprintf(
				"pubkeys/%s.pub in the repository is not this node's key (%s): send %s to the repository's maintainers",
				nw.Ref.NodeID, keyPath, configsync.PublicKeyExportPath(dir, nw.Ref)))
			continue
		}
		return nil, fmt.Errorf("%s: pubkeys/%s.pub is not this node's key (%s): replace it with the output of `meshmon keys show`",
			nw.Path, nw.Ref.NodeID, keyPath)
	}
	return cfg, nil
}

// prepareGit exports this node's public key for a git network and clones
// the network if it has no checkout yet; if that fails the network is
// marked pending.
func (n *Node) prepareGit(ctx context.Context, ref configsync.NetworkRef, pub ed25519.PublicKey, pending map[string]bool) {
	exp := configsync.PublicKeyExportPath(n.opts.ConfigDir, ref)
	wrote, err := configsync.ExportPublicKey(exp, pub)
	switch {
	case err != nil:
		n.log.Warn("cannot write own public key", "network", ref.Directory, "path", exp, "err", err)
	case wrote:
		n.log.Info("wrote this node's public key: send it to the repository's maintainers to add as pubkeys/"+ref.NodeID+".pub",
			"network", ref.Directory, "path", exp)
	}
	if st, err := configsync.ReadGitState(configsync.NetworkDir(n.opts.ConfigDir, ref.Directory)); err == nil {
		n.mu.Lock()
		if n.gits[ref.Directory] == nil {
			// Known from an earlier start: fetch soon, not one interval later.
			n.gits[ref.Directory] = &gitStatus{state: st}
		}
		n.mu.Unlock()
		return
	}
	cctx, cancel := context.WithTimeout(ctx, cloneTimeout)
	defer cancel()
	st, err := n.git.Ensure(cctx, n.opts.ConfigDir, ref)
	if err != nil {
		pending[ref.Directory] = true
		n.gitResult(ref, st, false, err)
		return
	}
	n.gitResult(ref, st, true, nil)
}

package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"

	"github.com/meshmon/meshmon/configsync"
)

// loadConfig does the file work of a start or reload. At the start
// (first), it scaffolds missing local networks; a reload never writes a
// network file, so a file being copied in is never replaced by a template.
// It exports this node's key for git networks and clones those not cloned
// yet (all at once, each bounded by Defaults.CloneTimeout and ctx), then loads and
// validates the whole config. A git network whose first clone fails is left
// out (and retried by the git loop) so the node's other networks still run.
// Nothing is changed in the running node.
func (n *Node) loadConfig(ctx context.Context, first bool) (*configsync.Config, error) {
	dir, file := n.opts.ConfigDir, n.opts.ConfigFile
	pub := n.key.Public().(ed25519.PublicKey)
	ncPath := filepath.Join(dir, file)
	data, err := configsync.ReadConfigFile(ncPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: no node configuration: create it as the README shows (networks: - directory: D, node_id: N)", ncPath)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ncPath, err)
	}
	nc, err := configsync.ParseNodeConf(data, file)
	if err != nil {
		return nil, err
	}
	var gits []configsync.NetworkRef
	for _, ref := range nc.Networks {
		if ref.ConfigType == configsync.ConfigGit {
			gits = append(gits, ref)
			continue
		}
		if !first {
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
	pending := n.prepareGits(ctx, gits, pub)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	cfg, err := configsync.LoadWith(dir, file, configsync.LoadOptions{
		Skip: func(ref configsync.NetworkRef) bool { return pending[ref.Directory] },
		// Read each git network while no fetch moves its checkout.
		HoldGit: func(ref configsync.NetworkRef) func() { return n.git.HoldCheckout(dir, ref) },
	})
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

// prepareGits runs prepareGit for every git network at once, so that the
// first clones of several networks take the time of the slowest, not the
// sum. It returns the directories of the networks left pending.
func (n *Node) prepareGits(ctx context.Context, refs []configsync.NetworkRef, pub ed25519.PublicKey) map[string]bool {
	pending := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !n.prepareGit(ctx, ref, pub) {
				mu.Lock()
				pending[ref.Directory] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return pending
}

// prepareGit exports this node's public key for a git network and clones
// the network if it has no checkout yet; it reports false if that fails
// (the network is then pending).
func (n *Node) prepareGit(ctx context.Context, ref configsync.NetworkRef, pub ed25519.PublicKey) bool {
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
		return true
	}
	cctx, cancel := context.WithTimeout(ctx, n.def.CloneTimeout)
	defer cancel()
	st, err := n.git.Ensure(cctx, n.opts.ConfigDir, ref)
	if ctx.Err() != nil {
		// Stopped: not a failure of the repository.
		return false
	}
	if err != nil {
		n.gitResult(ref, st, false, err)
		return false
	}
	n.gitResult(ref, st, true, nil)
	return true
}

package configsync

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// loadNetworkFS is the one validation of a network's files: config.yml and
// pubkeys/<node_id>.pub in fsys, which is a local network's directory on
// disk, the commit a git checkout has checked out, or a commit about to be
// applied. So a local and a git network cannot be judged differently.
//
// prefix is put before file names in problems ("networks/<dir>/" on disk,
// "" for a commit being applied); dir is the config dir, named in hints.
// Problems that make the network unusable are returned as errors: a
// missing, oversized or invalid config.yml, and two members with the same
// public key. A member whose key is missing, oversized or malformed is only
// marked in KeyErrors ("no key"): the others still run.
func loadNetworkFS(fsys fs.FS, dir string, ref NetworkRef, prefix string) (*Network, error) {
	file := prefix + "config.yml"
	data, err := readFSFile(fsys, "config.yml", MaxConfigSize)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		msg := "missing: create it, or restart meshmon, which writes a starter file at start (as `meshmon init` does)"
		if ref.ConfigType == ConfigGit {
			msg = "missing: the repository must hold config.yml at its root"
		}
		return nil, &Problem{File: file, Msg: msg}
	case err != nil:
		return nil, &Problem{File: file, Msg: err.Error()}
	}
	nc, err := ParseNetworkConfig(data, file)
	if err != nil {
		return nil, err
	}
	netDir := NetworkDir(dir, ref.Directory)
	nw := &Network{
		Ref:       ref,
		Path:      netDir,
		Config:    nc,
		Pubkeys:   map[string]ed25519.PublicKey{},
		KeyErrors: map[string]error{},
	}
	for _, m := range nc.NodeConfig {
		if m.HasPlaceholderURL() {
			nw.Warnings = append(nw.Warnings, fmt.Sprintf("set url for node %s in %s", m.NodeID, file))
		}
		keyFile := "pubkeys/" + m.NodeID + ".pub"
		data, err := readFSFile(fsys, keyFile, maxPubkeySize)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if m.NodeID == ref.NodeID && ref.ConfigType == ConfigGit {
				nw.Warnings = append(nw.Warnings, fmt.Sprintf(
					"this node's key is not in the repository yet: send %s to its maintainers",
					PublicKeyExportPath(dir, ref)))
				continue
			}
			nw.KeyErrors[m.NodeID] = fmt.Errorf("no public key: add %s", filepath.Join(netDir, filepath.FromSlash(keyFile)))
		case err != nil:
			nw.KeyErrors[m.NodeID] = fmt.Errorf("%s: %w", keyFile, err)
		default:
			k, err := ParsePublicKeyPEM(data)
			if err != nil {
				nw.KeyErrors[m.NodeID] = fmt.Errorf("%s: %w", keyFile, err)
				continue
			}
			nw.Pubkeys[m.NodeID] = k
		}
	}
	if err := duplicateKeys(nc, nw.Pubkeys, prefix); err != nil {
		return nil, err
	}
	entries, _ := fs.ReadDir(fsys, "pubkeys")
	members := nc.memberSet()
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".pub")
		if !ok || e.IsDir() {
			continue
		}
		if !members[id] {
			nw.Warnings = append(nw.Warnings, fmt.Sprintf("pubkeys/%s is for no node in node_config", e.Name()))
		}
	}
	slices.Sort(nw.Warnings)
	return nw, nil
}

// duplicateKeys reports every pair of members that hold the same public
// key (a copied .pub): peers would take one node for the other, so the
// network does not load until each member has its own key.
func duplicateKeys(nc *NetworkConfig, keys map[string]ed25519.PublicKey, prefix string) error {
	first := map[string]string{} // key bytes -> first node_id holding it
	var errs []error
	for _, m := range nc.NodeConfig {
		k, ok := keys[m.NodeID]
		if !ok {
			continue
		}
		other, dup := first[string(k)]
		if !dup {
			first[string(k)] = m.NodeID
			continue
		}
		errs = append(errs, &Problem{File: prefix + "pubkeys/" + m.NodeID + ".pub",
			Msg: fmt.Sprintf("members %s and %s have the same public key (pubkeys/%s.pub and pubkeys/%s.pub): "+
				"each member needs its own; put the output of `meshmon keys show` on node %s into pubkeys/%s.pub",
				other, m.NodeID, other, m.NodeID, m.NodeID, m.NodeID)})
	}
	return errors.Join(errs...)
}

package configsync

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Config is a node's whole validated configuration: nodeconf and every
// network it names. It is immutable once loaded; a reload builds a new one.
type Config struct {
	// Dir is the config dir.
	Dir string
	// File is the nodeconf file name inside Dir.
	File string
	// Node is the parsed nodeconf.
	Node *NodeConf
	// Networks are the networks of Node.Networks, in the same order.
	Networks []Network
	// Skipped are the networks LoadSkipping left out.
	Skipped []NetworkRef
}

// Network is one loaded network.
type Network struct {
	// Ref is the nodeconf entry naming the network.
	Ref NetworkRef
	// Path is the network's directory.
	Path string
	// Config is its parsed config.yml.
	Config *NetworkConfig
	// Pubkeys holds the public key of every member whose pubkeys/<id>.pub
	// loaded.
	Pubkeys map[string]ed25519.PublicKey
	// KeyErrors says, for every member without a usable key, why. Such a
	// member is shown as "no key" and cannot be admitted; the network
	// still runs.
	KeyErrors map[string]error
	// Warnings are problems that do not stop the network (a placeholder
	// url, a key file for no member).
	Warnings []string
}

// Load reads and validates <dir>/<file> and every network it names,
// returning every problem at once. It writes nothing.
func Load(dir, file string) (*Config, error) { return LoadSkipping(dir, file, nil) }

// LoadSkipping is Load, except that networks for which skip returns true
// are left out of the result and listed in Config.Skipped instead (a node
// uses it to run its other networks while a git network's first clone is
// still failing).
func LoadSkipping(dir, file string, skip func(NetworkRef) bool) (*Config, error) {
	ncPath := filepath.Join(dir, file)
	data, err := os.ReadFile(ncPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Problem{File: file, Msg: fmt.Sprintf("missing: create %s (see the README)", ncPath)}
		}
		return nil, fmt.Errorf("read node config: %w", err)
	}
	nc, err := ParseNodeConf(data, file)
	if err != nil {
		return nil, err
	}
	cfg := &Config{Dir: dir, File: file, Node: nc}
	var errs []error
	ids := map[string]string{}
	for i, ref := range nc.Networks {
		if skip != nil && skip(ref) {
			cfg.Skipped = append(cfg.Skipped, ref)
			continue
		}
		nw, err := LoadNetwork(dir, ref)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		path := fmt.Sprintf("networks[%d]", i)
		if _, ok := nw.Config.Member(ref.NodeID); !ok {
			errs = append(errs, &Problem{File: file, Line: ref.line, Path: path + ".node_id",
				Msg: fmt.Sprintf("%q is not in %s node_config: add it there", ref.NodeID, relFile(ref))})
		}
		if other, dup := ids[nw.Config.NetworkID]; dup {
			errs = append(errs, &Problem{File: file, Line: ref.line, Path: path + ".directory",
				Msg: fmt.Sprintf("network_id %q is also the network_id of directory %q: join a network once", nw.Config.NetworkID, other)})
		}
		ids[nw.Config.NetworkID] = ref.Directory
		cfg.Networks = append(cfg.Networks, *nw)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return cfg, nil
}

// relFile is a network's config.yml relative to the config dir, as named in
// problems.
func relFile(ref NetworkRef) string {
	return filepath.ToSlash(filepath.Join("networks", ref.Directory, "config.yml"))
}

// LoadNetwork reads and validates one network's config.yml and pubkeys/.
func LoadNetwork(dir string, ref NetworkRef) (*Network, error) {
	netDir := NetworkDir(dir, ref.Directory)
	file := relFile(ref)
	data, err := os.ReadFile(filepath.Join(netDir, "config.yml"))
	if errors.Is(err, fs.ErrNotExist) {
		msg := "missing: `meshmon run` writes a starter file on first start"
		if ref.ConfigType == ConfigGit {
			msg = "missing: the repository has not been cloned yet, or it has no config.yml at its root"
		}
		return nil, &Problem{File: file, Msg: msg}
	}
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", ref.Directory, err)
	}
	nc, err := ParseNetworkConfig(data, file)
	if err != nil {
		return nil, err
	}
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
		keyFile := filepath.Join("pubkeys", m.NodeID+".pub")
		data, err := os.ReadFile(filepath.Join(netDir, keyFile))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if m.NodeID == ref.NodeID && ref.ConfigType == ConfigGit {
				nw.Warnings = append(nw.Warnings, fmt.Sprintf(
					"this node's key is not in the repository yet: send %s to its maintainers",
					PublicKeyExportPath(dir, ref)))
				continue
			}
			nw.KeyErrors[m.NodeID] = fmt.Errorf("no public key: add %s", filepath.Join(netDir, keyFile))
		case err != nil:
			nw.KeyErrors[m.NodeID] = fmt.Errorf("read %s: %w", keyFile, err)
		default:
			k, err := ParsePublicKeyPEM(data)
			if err != nil {
				nw.KeyErrors[m.NodeID] = fmt.Errorf("%s: %w", keyFile, err)
				continue
			}
			nw.Pubkeys[m.NodeID] = k
		}
	}
	entries, _ := os.ReadDir(filepath.Join(netDir, "pubkeys"))
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".pub")
		if !ok || e.IsDir() {
			continue
		}
		if _, member := nc.Member(id); !member {
			nw.Warnings = append(nw.Warnings, fmt.Sprintf("pubkeys/%s is for no node in node_config", e.Name()))
		}
	}
	slices.Sort(nw.Warnings)
	return nw, nil
}

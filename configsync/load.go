package configsync

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	git "github.com/go-git/go-git/v5"
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
	// Commit is, for a git network, the commit its files were read from
	// (40 hex digits); empty for a local network.
	Commit string
}

// Load reads and validates <dir>/<file> and every network it names,
// returning every problem at once. It writes nothing.
func Load(dir, file string) (*Config, error) { return LoadWith(dir, file, LoadOptions{}) }

// LoadSkipping is Load, except that networks for which skip returns true
// are left out of the result and listed in Config.Skipped instead (a node
// uses it to run its other networks while a git network's first clone is
// still failing).
func LoadSkipping(dir, file string, skip func(NetworkRef) bool) (*Config, error) {
	return LoadWith(dir, file, LoadOptions{Skip: skip})
}

// LoadOptions tunes LoadWith. The zero value is Load.
type LoadOptions struct {
	// Skip, when it returns true for a network, leaves it out of the
	// result and lists it in Config.Skipped.
	Skip func(NetworkRef) bool
	// HoldGit, when set, is called before a git network is read and the
	// function it returns after: GitSync.HoldCheckout, so that no fetch
	// moves the checkout while it is read.
	HoldGit func(NetworkRef) (release func())
}

// LoadWith is Load with options.
func LoadWith(dir, file string, o LoadOptions) (*Config, error) {
	skip := o.Skip
	ncPath := filepath.Join(dir, file)
	data, err := ReadConfigFile(ncPath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Problem{File: file, Msg: fmt.Sprintf("missing: create %s (see the README)", ncPath)}
		}
		if errors.Is(err, ErrTooLarge) {
			return nil, &Problem{File: file, Msg: err.Error()}
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
		var release func()
		if o.HoldGit != nil && ref.ConfigType == ConfigGit {
			release = o.HoldGit(ref)
		}
		nw, err := LoadNetwork(dir, ref)
		if release != nil {
			release()
		}
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

// LoadNetwork reads and validates one network's config.yml and pubkeys/
// (loadNetworkFS). A local network is read from its directory; a git
// network from the commit its checkout has checked out, in the object
// store, so a fetch that is moving the working tree never mixes two
// commits, and files edited in the checkout are not the running config.
func LoadNetwork(dir string, ref NetworkRef) (*Network, error) {
	if ref.ConfigType == ConfigGit {
		return loadGitNetwork(dir, ref)
	}
	prefix := filepath.ToSlash(filepath.Join("networks", ref.Directory)) + "/"
	return loadNetworkFS(os.DirFS(NetworkDir(dir, ref.Directory)), dir, ref, prefix)
}

// loadGitNetwork loads a git network from its checkout's HEAD commit.
func loadGitNetwork(dir string, ref NetworkRef) (*Network, error) {
	path := NetworkDir(dir, ref.Directory)
	file := relFile(ref)
	entries, err := os.ReadDir(path)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil, &Problem{File: file, Msg: "missing: the repository has not been cloned yet"}
	}
	repo, err := git.PlainOpenWithOptions(path, &git.PlainOpenOptions{DetectDotGit: false})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("network %s: %s: %w (config_type is git): move it away so that %s can be cloned there",
			ref.Directory, path, ErrNotGitCheckout, RedactGitURL(ref.GitRepo))
	}
	if err != nil {
		return nil, fmt.Errorf("network %s: open checkout: %w", ref.Directory, err)
	}
	head, err := repo.Head()
	if err != nil {
		return nil, fmt.Errorf("network %s: checkout: read HEAD: %w", ref.Directory, err)
	}
	commit, err := repo.CommitObject(head.Hash())
	if err != nil {
		return nil, fmt.Errorf("network %s: checkout: commit %s: %w", ref.Directory, head.Hash(), err)
	}
	tree, err := commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("network %s: checkout: commit %s: %w", ref.Directory, head.Hash(), err)
	}
	prefix := filepath.ToSlash(filepath.Join("networks", ref.Directory)) + "/"
	nw, err := loadNetworkFS(treeFS{root: tree}, dir, ref, prefix)
	if err != nil {
		return nil, err
	}
	nw.Commit = head.Hash().String()
	return nw, nil
}

package node

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/meshmon/meshmon/configsync"
)

// InitOptions configures Init: which network a new node joins, and as
// whom.
type InitOptions struct {
	// ConfigDir is the config dir, created if missing. Default "./config".
	ConfigDir string
	// ConfigFile is the nodeconf file name inside ConfigDir. Default
	// "nodeconf.yml".
	ConfigFile string
	// NodeID is this node's node_id in the network; required.
	NodeID string
	// Network is the network's directory, config/networks/<Network>;
	// required.
	Network string
	// GitRepo, when set, makes the network git-mode: its config is cloned
	// from this repository URL. Empty: local mode.
	GitRepo string
	// GitRef is the branch or tag to follow (git mode only). Empty: the
	// remote's default branch.
	GitRef string
}

// Init writes a starter nodeconf for a node joining one network, with a
// comment on every field, and prints to w what to do next. It never
// overwrites an existing nodeconf: that is an error wrapping fs.ErrExist,
// and nothing is written. It also creates the node key if there is none
// (an existing key is kept), and writes this node's public key where the
// network's members get it: for git mode the file to send to the
// repository's maintainers, for local mode a starter network config and
// pubkeys/<node_id>.pub (existing network files are kept).
func Init(o InitOptions, w io.Writer) error {
	if o.ConfigDir == "" {
		o.ConfigDir = DefaultValues().ConfigDir
	}
	if o.ConfigFile == "" {
		o.ConfigFile = configsync.DefaultNodeConfName
	}
	if o.GitRef != "" && o.GitRepo == "" {
		return errors.New("--git-ref is only used with --git-repo")
	}
	data := StarterNodeConf(o)
	nc, err := configsync.ParseNodeConf(data, o.ConfigFile)
	if err != nil {
		return flagProblems(err)
	}
	path := filepath.Join(o.ConfigDir, o.ConfigFile)
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w: init never overwrites it; edit it, or move it away and run init again", path, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.MkdirAll(o.ConfigDir, 0o755); err != nil {
		return err
	}
	if err := writeExclusive(path, data); err != nil {
		return err
	}
	info, err := ShowKey(o.ConfigDir)
	if err != nil {
		return err
	}
	pub, err := configsync.ParsePublicKeyPEM([]byte(info.PublicKeyPEM))
	if err != nil {
		return err
	}
	ref := nc.Networks[0]
	fmt.Fprintf(w, "wrote %s: node %s in network %s", path, o.NodeID, o.Network)
	if o.GitRepo != "" {
		fmt.Fprintf(w, ", config from %s", configsync.RedactGitURL(o.GitRepo))
	}
	fmt.Fprintln(w)
	switch {
	case info.Created:
		fmt.Fprintf(w, "created this node's key %s (peer ID %s)\n", info.Path, info.PeerID)
	case info.Adopted != "":
		fmt.Fprintf(w, "adopted %s as this node's key %s (peer ID %s)\n", info.Adopted, info.Path, info.PeerID)
	default:
		fmt.Fprintf(w, "kept this node's key %s (peer ID %s)\n", info.Path, info.PeerID)
	}

	flags := "--config-dir " + shellQuote(o.ConfigDir)
	if o.ConfigFile != configsync.DefaultNodeConfName {
		flags += " --config-file " + shellQuote(o.ConfigFile)
	}
	netDir := configsync.NetworkDir(o.ConfigDir, o.Network)
	if o.GitRepo != "" {
		exp := configsync.PublicKeyExportPath(o.ConfigDir, ref)
		if _, err := configsync.ExportPublicKey(exp, pub); err != nil {
			return err
		}
		fmt.Fprintf(w, `
Next:
  1. Send %s (below) to the maintainers of %s, with
     node_id %s and the URL where this node's HTTP port (listen.http, default
     8000) is reachable. They add the node to config.yml's node_config and the
     key as pubkeys/%s.pub.
  2. Start the node: meshmon run %s
     It clones the repository into %s and joins the network
     once the repository lists %s; until then it retries every git_interval.
  3. Check the config at any time: meshmon config check %s

%s`, exp, configsync.RedactGitURL(o.GitRepo), o.NodeID, o.NodeID, flags, netDir, o.NodeID, flags, info.PublicKeyPEM)
		return nil
	}
	written, err := configsync.ScaffoldNetwork(o.ConfigDir, ref, pub)
	if err != nil {
		return err
	}
	for _, p := range written {
		fmt.Fprintf(w, "wrote %s\n", p)
	}
	fmt.Fprintf(w, `
Next:
  1. Edit %s: set this node's url to where
     its HTTP port (listen.http, default 8000) is reachable, and list every
     other member. It must be the same on every member.
  2. Put every other member's public key into %s/<node_id>.pub,
     and give them this node's, %s (below).
  3. Check: meshmon config check %s
  4. Start the node: meshmon run %s

%s`, filepath.Join(netDir, "config.yml"), filepath.Join(netDir, "pubkeys"),
		filepath.Join(netDir, "pubkeys", o.NodeID+".pub"), flags, flags, info.PublicKeyPEM)
	return nil
}

// StarterNodeConf returns the nodeconf Init writes for o: one network, every
// optional field present as a comment with its default.
func StarterNodeConf(o InitOptions) []byte {
	var b strings.Builder
	b.WriteString(`# meshmon node configuration, written by "meshmon init". It is this node's
# own file; the network's config (members, keys, timing) is shared by every
# member and lives in networks/<directory>/. "meshmon config check"
# validates both. Uncomment a field to set it; commented values are the
# defaults or examples.

# networks: the networks this node joins, at least one.
networks:
    # directory: the network's directory, config/networks/<directory>
    # (letters, digits, '.', '_', '-').
  - directory: ` + yamlScalar(o.Network) + `
    # node_id: this node's id in that network. It must be listed in the
    # network's config.yml (node_config), with this node's public key as
    # pubkeys/<node_id>.pub.
    node_id: ` + yamlScalar(o.NodeID) + "\n")
	if o.GitRepo == "" {
		b.WriteString(`    # config_type: local (the default) reads networks/<directory>/ from disk;
    # git clones it from git_repo and keeps it in sync.
    # config_type: local
    # git_repo: the repository holding config.yml and pubkeys/ at its root,
    # with config_type: git.
    # git_repo: https://github.com/your-org/meshmon-config.git
`)
	} else {
		ref := "# git_ref: main"
		if o.GitRef != "" {
			ref = "git_ref: " + yamlScalar(o.GitRef)
		}
		fmt.Fprintf(&b, `    # config_type: git clones networks/<directory>/ from git_repo and keeps it
    # in sync; local (the default) reads it from disk.
    config_type: git
    # git_repo: the repository holding config.yml and pubkeys/ at its root:
    # https://host/path.git, ssh://user@host/path.git, user@host:path.git or
    # a local path. Put no token here: use git_token_env.
    git_repo: %s
    # git_ref: the branch or tag to follow. Default: the repository's default
    # branch.
    %s
    # git_interval: how often the repository is fetched; at least 1s.
    # git_interval: %s
    # git_token_env: for a private https repository, the name of the
    # environment variable holding an access token.
    # git_token_env: MESHMON_GIT_TOKEN
    # git_ssh_key: for an ssh repository, a private key file without a
    # passphrase (relative to the config dir); the server's host key must be
    # in %s in the config dir. Without it the ssh agent is used.
    # git_ssh_key: .ssh/id_ed25519
`, yamlScalar(o.GitRepo), ref, fmt.Sprintf("%gs", time.Duration(configsync.DefaultGitInterval).Seconds()), configsync.KnownHostsPath)
	}
	b.WriteString(`    # discord_webhook: a Discord webhook URL (or name: URL pairs) told about
    # status changes. A secret: keep this file private.
    # discord_webhook: https://discord.com/api/webhooks/ID/TOKEN
    # webhook: a URL (or name: URL pairs) that status changes are POSTed to
    # as JSON.
    # webhook: https://example.com/meshmon-hook

# listen: where this node listens; these are the defaults.
`)
	def := configsync.DefaultListen()
	fmt.Fprintf(&b, `# listen:
#   # http: the dashboard, API and /metrics; members' url points here.
#   http: %s
#   # p2p: libp2p listen multiaddrs (TCP and QUIC; open these ports).
#   p2p:
`, yamlScalar(def.HTTP))
	for _, a := range def.P2P {
		fmt.Fprintf(&b, "#     - %s\n", a)
	}
	b.WriteString(`#   # announce: addresses told to peers instead of the listen addresses,
#   # e.g. the host's public address when running in Docker.
#   announce:
#     - /ip4/203.0.113.7/tcp/4001
`)
	return []byte(b.String())
}

// flagProblems rewords the problems of a starter nodeconf as problems of
// the flags that made it.
func flagProblems(err error) error {
	ps := configsync.Problems(err)
	if len(ps) == 0 {
		return err
	}
	flag := map[string]string{
		"networks[0].directory": "--network",
		"networks[0].node_id":   "--node-id",
		"networks[0].git_repo":  "--git-repo",
		"networks[0].git_ref":   "--git-ref",
	}
	errs := make([]error, 0, len(ps))
	for _, p := range ps {
		name := flag[p.Path]
		if name == "" {
			name = p.Path
		}
		errs = append(errs, fmt.Errorf("%s: %s", name, p.Msg))
	}
	return errors.Join(errs...)
}

// writeExclusive creates path with data; it fails if path exists.
func writeExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s: %w: init never overwrites it; edit it, or move it away and run init again", path, fs.ErrExist)
	}
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// yamlScalar writes s as a YAML scalar that reads back as s.
func yamlScalar(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil || strings.Count(string(out), "\n") > 1 {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(string(out), "\n")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:=@,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

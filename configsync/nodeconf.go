package configsync

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"time"

	ma "github.com/multiformats/go-multiaddr"
	"gopkg.in/yaml.v3"
)

// Config types of a network.
const (
	// ConfigLocal reads the network from config/networks/<directory>.
	ConfigLocal = "local"
	// ConfigGit clones the network from a git repository into
	// config/networks/<directory> and keeps it in sync.
	ConfigGit = "git"
)

// NodeConf is nodeconf.yml: the networks this node joins and where it
// listens.
type NodeConf struct {
	// Networks this node joins, at least one.
	Networks []NetworkRef
	// Listen holds the node's listen addresses (defaults: DefaultListen).
	Listen Listen
}

// NetworkRef is one entry of nodeconf's networks list.
type NetworkRef struct {
	// Directory names config/networks/<directory>; required.
	Directory string
	// NodeID is this node's id in that network; required, and it must be
	// in the network's node_config.
	NodeID string
	// ConfigType is "local" (default) or "git".
	ConfigType string
	// GitRepo is the repository URL (git mode only; required there).
	GitRepo string
	// GitRef is a branch or tag to follow; empty means the remote's
	// default branch.
	GitRef string
	// GitInterval is how often the repository is fetched (default 60s).
	GitInterval Duration
	// GitTokenEnv names the environment variable holding an access token
	// for an https GitRepo (git mode only; optional). The token is sent as
	// the HTTP basic-auth password, with the URL's user name or else
	// "x-access-token" as user name. It is read at each fetch and never
	// logged, shown or written anywhere.
	GitTokenEnv string
	// GitSSHKey is the path of the private key file for an ssh GitRepo
	// (git mode only; optional: without it the ssh agent is used). A
	// relative path is relative to the config dir. The key must have no
	// passphrase. The server's host key must be in a known_hosts file: see
	// KnownHostsPath.
	GitSSHKey string
	// DiscordWebhook holds Discord webhook URLs by name; a single URL in
	// the file is named "default".
	DiscordWebhook Webhooks
	// Webhook holds generic JSON webhook URLs by name, like DiscordWebhook.
	Webhook Webhooks

	// line is where the entry starts in nodeconf, for problems found later.
	line int
}

// Webhooks maps a webhook's name to its URL. URLs are secrets: never log
// them or send them anywhere but to the webhook itself.
type Webhooks map[string]string

// Listen is where a node listens.
type Listen struct {
	// HTTP is the HTTP sidecar's listen address (default ":8000").
	HTTP string
	// P2P is the libp2p listen multiaddrs (default: TCP and QUIC on port
	// 4001, IPv4 and IPv6).
	P2P []string
	// Announce, when set, replaces the addresses told to peers (e.g. the
	// host's public address when running in Docker).
	Announce []string
}

// idPattern is what node_id, network_id and directory may look like: safe
// as a file name and in a URL path.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

const idRule = "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"

// ParseNodeConf decodes and validates nodeconf.yml. file names the file in
// problems. Every problem is returned at once.
func ParseNodeConf(data []byte, file string) (*NodeConf, error) {
	d := &decoder{problems{file: file}}
	root := d.parseDocument(data)
	if root == nil {
		return nil, d.err()
	}
	nc := &NodeConf{Listen: DefaultListen()}
	present := d.mapping(root, "", []field{
		{"networks", func(n *yaml.Node, path string) {
			d.seq(n, path, func(i int, n *yaml.Node, path string) {
				nc.Networks = append(nc.Networks, d.networkRef(n, path))
			})
			if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
				d.add(n.Line, path, "list at least one network")
			}
		}},
		{"listen", func(n *yaml.Node, path string) { d.listen(n, path, &nc.Listen) }},
	})
	if present != nil && present["networks"] == nil {
		d.add(root.Line, "networks", "required: list the networks this node joins")
	}
	dirs := map[string]int{}
	for i, ref := range nc.Networks {
		if ref.Directory == "" {
			continue
		}
		if j, dup := dirs[ref.Directory]; dup {
			d.add(lineOf(root, "networks", i), fmt.Sprintf("networks[%d].directory", i),
				"%q is already used by networks[%d]", ref.Directory, j)
			continue
		}
		dirs[ref.Directory] = i
	}
	if err := d.err(); err != nil {
		return nil, err
	}
	return nc, nil
}

func (d *decoder) networkRef(n *yaml.Node, path string) NetworkRef {
	ref := NetworkRef{ConfigType: ConfigLocal, line: n.Line}
	var typeLine int
	present := d.mapping(n, path, []field{
		{"directory", func(n *yaml.Node, p string) {
			ref.Directory = d.str(n, p)
			if ref.Directory != "" && !idPattern.MatchString(ref.Directory) {
				d.add(n.Line, p, "%q is not a valid directory name: %s", ref.Directory, idRule)
			}
		}},
		{"node_id", func(n *yaml.Node, p string) {
			ref.NodeID = d.str(n, p)
			if ref.NodeID != "" && !idPattern.MatchString(ref.NodeID) {
				d.add(n.Line, p, "%q is not a valid node_id: %s", ref.NodeID, idRule)
			}
		}},
		{"config_type", func(n *yaml.Node, p string) {
			typeLine = n.Line
			ref.ConfigType = d.str(n, p)
			if ref.ConfigType != ConfigLocal && ref.ConfigType != ConfigGit {
				d.add(n.Line, p, "%q is not a config type: use local or git", ref.ConfigType)
			}
		}},
		{"git_repo", func(n *yaml.Node, p string) { ref.GitRepo = d.str(n, p) }},
		{"git_ref", func(n *yaml.Node, p string) { ref.GitRef = d.str(n, p) }},
		{"git_token_env", func(n *yaml.Node, p string) {
			ref.GitTokenEnv = d.str(n, p)
			if !envNamePattern.MatchString(ref.GitTokenEnv) {
				d.add(n.Line, p, "%q is not an environment variable name: use letters, digits and '_', not starting with a digit", ref.GitTokenEnv)
			}
		}},
		{"git_ssh_key", func(n *yaml.Node, p string) {
			ref.GitSSHKey = d.str(n, p)
			if ref.GitSSHKey == "" {
				d.add(n.Line, p, "must not be empty: give the path of the ssh private key file")
			}
		}},
		{"git_interval", func(n *yaml.Node, p string) {
			if v, ok := d.duration(n, p); ok {
				ref.GitInterval = v
				if v < Duration(time.Second) {
					d.add(n.Line, p, "%s is too short: use at least 1s", v)
				}
			}
		}},
		{"discord_webhook", func(n *yaml.Node, p string) { ref.DiscordWebhook = d.webhooks(n, p) }},
		{"webhook", func(n *yaml.Node, p string) { ref.Webhook = d.webhooks(n, p) }},
	})
	if present == nil {
		return ref
	}
	if missing(present["directory"]) {
		d.add(n.Line, join(path, "directory"), "required")
	}
	if missing(present["node_id"]) {
		d.add(n.Line, join(path, "node_id"), "required")
	}
	if ref.ConfigType == ConfigGit {
		if ref.GitRepo == "" {
			line := typeLine
			if g := present["git_repo"]; g != nil {
				line = g.Line
			}
			d.add(line, join(path, "git_repo"), "required with config_type: git")
		} else {
			d.gitRepo(ref, present, path)
		}
		if ref.GitInterval == 0 {
			ref.GitInterval = DefaultGitInterval
		}
	} else {
		for _, k := range []string{"git_repo", "git_ref", "git_interval", "git_token_env", "git_ssh_key"} {
			if g := present[k]; g != nil {
				d.add(g.Line, join(path, k), "only used with config_type: git")
			}
		}
	}
	return ref
}

// envNamePattern is what an environment variable name may look like.
var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// gitRepo checks git_repo and that the credentials fields suit its
// protocol. The URL itself is never in a message: it may hold credentials.
func (d *decoder) gitRepo(ref NetworkRef, present map[string]*yaml.Node, path string) {
	repoLine := present["git_repo"].Line
	proto, host, err := gitProtocol(ref.GitRepo)
	if err != nil {
		d.add(repoLine, join(path, "git_repo"), "not a git URL: write https://host/path.git, ssh://user@host/path.git, user@host:path.git or a local path")
		return
	}
	switch proto {
	case "https", "http", "ssh", "file":
	default:
		d.add(repoLine, join(path, "git_repo"), "protocol %q is not supported: use https, ssh or a local path", proto)
		return
	}
	if n := present["git_token_env"]; n != nil {
		switch {
		case proto == "https":
		case proto == "http" && isLoopbackHost(host):
		case proto == "http":
			d.add(n.Line, join(path, "git_token_env"), "would send the token unencrypted: use an https:// git_repo")
		default:
			d.add(n.Line, join(path, "git_token_env"), "only used with an https:// git_repo")
		}
	}
	if n := present["git_ssh_key"]; n != nil && proto != "ssh" {
		d.add(n.Line, join(path, "git_ssh_key"), "only used with an ssh git_repo (ssh://user@host/path or user@host:path)")
	}
}

func (d *decoder) webhooks(n *yaml.Node, path string) Webhooks {
	out := Webhooks{}
	check := func(n *yaml.Node, p, name, raw string) {
		// The URL is a secret: the message names the field, not the value.
		if err := checkHTTPURL(raw); err != nil {
			d.add(n.Line, p, "not a webhook URL: %v", err)
			return
		}
		out[name] = raw
	}
	switch n.Kind {
	case yaml.ScalarNode:
		check(n, path, "default", d.str(n, path))
	case yaml.MappingNode:
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if !idPattern.MatchString(k.Value) {
				// Neither path nor message shows the name: a URL written
				// as a key ({https://…} or "https://…:") would leak.
				d.add(k.Line, path, "not a valid webhook name (write name: URL): %s", idRule)
				continue
			}
			p := join(path, k.Value)
			if seen[k.Value] {
				d.add(k.Line, p, "key appears more than once")
				continue
			}
			seen[k.Value] = true
			check(v, p, k.Value, d.str(v, p))
		}
	default:
		d.add(n.Line, path, "want a URL or a mapping of name to URL, got %s", kindName(n))
	}
	return out
}

func (d *decoder) listen(n *yaml.Node, path string, l *Listen) {
	d.mapping(n, path, []field{
		{"http", func(n *yaml.Node, p string) {
			l.HTTP = d.str(n, p)
			if _, port, err := net.SplitHostPort(l.HTTP); err != nil || port == "" {
				d.add(n.Line, p, "%q is not a listen address: write host:port or :port, e.g. :8000", l.HTTP)
			}
		}},
		{"p2p", func(n *yaml.Node, p string) { l.P2P = d.multiaddrs(n, p) }},
		{"announce", func(n *yaml.Node, p string) { l.Announce = d.multiaddrs(n, p) }},
	})
}

func (d *decoder) multiaddrs(n *yaml.Node, path string) []string {
	list := d.strList(n, path)
	for i, s := range list {
		if _, err := ma.NewMultiaddr(s); err != nil {
			line := n.Line
			if n.Kind == yaml.SequenceNode {
				line = n.Content[i].Line
			}
			d.add(line, fmt.Sprintf("%s[%d]", path, i), "%q is not a multiaddr (e.g. /ip4/0.0.0.0/tcp/4001): %v", s, err)
		}
	}
	return list
}

// checkHTTPURL checks that raw is an absolute http or https URL with a host.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("cannot parse it")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("want an http:// or https:// URL")
	}
	if u.Hostname() == "" {
		return fmt.Errorf("the URL has no host")
	}
	return nil
}

// lineOf returns the line of item i of the list under key in mapping m.
func lineOf(m *yaml.Node, key string, i int) int {
	for j := 0; j+1 < len(m.Content); j += 2 {
		if m.Content[j].Value == key {
			v := m.Content[j+1]
			if v.Kind == yaml.SequenceNode && i < len(v.Content) {
				return v.Content[i].Line
			}
			return v.Line
		}
	}
	return m.Line
}

// Names returns the webhook names in sorted order.
func (w Webhooks) Names() []string {
	out := make([]string, 0, len(w))
	for k := range w {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

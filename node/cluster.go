package node

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/meshmon/meshmon/configsync"
)

// ClusterSpec describes a cluster of nodes on one network, all on this
// machine's loopback, as `meshmon demo` and the tests run it.
type ClusterSpec struct {
	// Dir is the base directory; node i's config dir is Dir/<Names[i]>.
	Dir string
	// NetworkID is the network_id (also the network directory).
	NetworkID string
	// Names are the node_ids.
	Names []string
	// URLs are the nodes' HTTP base URLs, parallel to Names.
	URLs []string
	// Heartbeat and SuspectAfter, when set, go into the network's timing.
	Heartbeat, SuspectAfter string
	// P2PListen are the nodes' listen multiaddrs. Default: TCP and QUIC on
	// 127.0.0.1 with ports chosen by the system.
	P2PListen []string
	// DiscordWebhooks and Webhooks, when set, are parallel to Names: each
	// node's discord_webhook and webhook entries (name → URL) on the
	// network. Nil or short: none.
	DiscordWebhooks, Webhooks []map[string]string
	// Monitors, when set, is the YAML list of the network's monitors,
	// written under "monitors:" (each line indented by two spaces).
	Monitors string
	// Absent are more members, listed in node_config after Names with a
	// public key each, that no node here runs: a large config whose
	// members mostly do not run. They get no config dir.
	Absent []AbsentMember
}

// AbsentMember is a member of ClusterSpec.Absent.
type AbsentMember struct {
	// Name is its node_id.
	Name string
	// URL is its url ("": none, as behind NAT).
	URL string
}

// WriteCluster writes every node's config dir (key, nodeconf.yml, network
// config listing every member, and every member's public key) and returns the
// config dirs in Names order. Existing keys are kept.
func WriteCluster(spec ClusterSpec) ([]string, error) {
	if len(spec.Names) != len(spec.URLs) {
		return nil, errors.New("cluster: names and urls differ in length")
	}
	if len(spec.P2PListen) == 0 {
		spec.P2PListen = []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	}
	dirs := make([]string, len(spec.Names))
	pubs := make([][]byte, len(spec.Names))
	for i, name := range spec.Names {
		dirs[i] = filepath.Join(spec.Dir, name)
		key, _, _, err := configsync.LoadOrCreateNodeKey(dirs[i])
		if err != nil {
			return nil, err
		}
		pubs[i], err = configsync.MarshalPublicKeyPEM(key.Public().(ed25519.PublicKey))
		if err != nil {
			return nil, err
		}
	}
	for range spec.Absent {
		pub, _, err := ed25519.GenerateKey(nil)
		if err != nil {
			return nil, err
		}
		pem, err := configsync.MarshalPublicKeyPEM(pub)
		if err != nil {
			return nil, err
		}
		pubs = append(pubs, pem)
	}
	var netconf bytes.Buffer
	fmt.Fprintf(&netconf, "network_id: %s\nnode_config:\n", spec.NetworkID)
	for i, name := range spec.Names {
		fmt.Fprintf(&netconf, "  - node_id: %s\n    url: %s\n", name, spec.URLs[i])
	}
	members := slices.Clone(spec.Names)
	for _, a := range spec.Absent {
		members = append(members, a.Name)
		fmt.Fprintf(&netconf, "  - node_id: %s\n", a.Name)
		if a.URL != "" {
			fmt.Fprintf(&netconf, "    url: %s\n", a.URL)
		}
	}
	if spec.Heartbeat != "" || spec.SuspectAfter != "" {
		netconf.WriteString("timing:\n")
		if spec.Heartbeat != "" {
			fmt.Fprintf(&netconf, "  heartbeat: %s\n", spec.Heartbeat)
		}
		if spec.SuspectAfter != "" {
			fmt.Fprintf(&netconf, "  suspect_after: %s\n", spec.SuspectAfter)
		}
	}
	if spec.Monitors != "" {
		netconf.WriteString("monitors:\n" + spec.Monitors)
	}
	for i, name := range spec.Names {
		var nc bytes.Buffer
		fmt.Fprintf(&nc, "networks:\n  - directory: %s\n    node_id: %s\n", spec.NetworkID, name)
		writeWebhooks(&nc, "discord_webhook", spec.DiscordWebhooks, i)
		writeWebhooks(&nc, "webhook", spec.Webhooks, i)
		nc.WriteString("listen:\n  p2p:\n")
		for _, l := range spec.P2PListen {
			fmt.Fprintf(&nc, "    - %s\n", l)
		}
		if err := os.WriteFile(filepath.Join(dirs[i], configsync.DefaultNodeConfName), nc.Bytes(), 0o644); err != nil {
			return nil, err
		}
		netDir := filepath.Join(dirs[i], "networks", spec.NetworkID)
		if err := os.MkdirAll(filepath.Join(netDir, "pubkeys"), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(netDir, "config.yml"), netconf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		for j, peer := range members {
			if err := os.WriteFile(filepath.Join(netDir, "pubkeys", peer+".pub"), pubs[j], 0o644); err != nil {
				return nil, err
			}
		}
	}
	return dirs, nil
}

// writeWebhooks writes node i's webhooks of kind key, if any, into a
// nodeconf network entry.
func writeWebhooks(b *bytes.Buffer, key string, hooks []map[string]string, i int) {
	if i >= len(hooks) || len(hooks[i]) == 0 {
		return
	}
	fmt.Fprintf(b, "    %s:\n", key)
	for _, name := range slices.Sorted(maps.Keys(hooks[i])) {
		fmt.Fprintf(b, "      %s: %s\n", name, strconv.Quote(hooks[i][name]))
	}
}

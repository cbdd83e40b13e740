package nodetest

import (
	"crypto/ed25519"
	"fmt"
	"strings"
	"testing"

	"github.com/meshmon/meshmon/configsync"
)

// NetworkMember is one node_config entry of NetworkYAML.
type NetworkMember struct {
	NodeID, URL string
}

// NetworkYAML returns a network config.yml with the given members and,
// when set, timing.
func NetworkYAML(networkID, heartbeat, suspectAfter string, members ...NetworkMember) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "network_id: %s\nnode_config:\n", networkID)
	for _, m := range members {
		fmt.Fprintf(&b, "  - node_id: %s\n    url: %s\n", m.NodeID, m.URL)
	}
	if heartbeat != "" || suspectAfter != "" {
		b.WriteString("timing:\n")
		if heartbeat != "" {
			fmt.Fprintf(&b, "  heartbeat: %s\n", heartbeat)
		}
		if suspectAfter != "" {
			fmt.Fprintf(&b, "  suspect_after: %s\n", suspectAfter)
		}
	}
	return []byte(b.String())
}

// NodePublicKeyPEM loads (creating it if needed) the node key of configDir
// and returns its public key as PEM, ready for a repository's pubkeys/.
func NodePublicKeyPEM(t testing.TB, configDir string) []byte {
	t.Helper()
	key, _, _, err := configsync.LoadOrCreateNodeKey(configDir)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := configsync.MarshalPublicKeyPEM(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return pem
}

package node

import (
	"crypto/ed25519"
	"fmt"
	"io"
	"path/filepath"
	"slices"

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
// without writing anything, prints a summary of what is valid to w, and
// returns every problem found (errors.Join of configsync problems).
func CheckConfig(configDir, configFile string, w io.Writer) error {
	cfg, err := configsync.Load(configDir, configFile)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: ok, %d network(s)\n", filepath.Join(configDir, configFile), len(cfg.Networks))
	for _, nw := range cfg.Networks {
		fmt.Fprintf(w, "network %s (%s, %s): node %s, %d member(s)\n",
			nw.Config.NetworkID, nw.Path, nw.Ref.ConfigType, nw.Ref.NodeID, len(nw.Config.NodeConfig))
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
	return nil
}

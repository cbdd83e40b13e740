package p2p

import (
	"crypto/ed25519"
	"fmt"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

// PrivKey converts a stdlib Ed25519 private key into a libp2p key.
func PrivKey(key ed25519.PrivateKey) (crypto.PrivKey, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("ed25519 private key: want %d bytes, got %d", ed25519.PrivateKeySize, len(key))
	}
	return crypto.UnmarshalEd25519PrivateKey(key)
}

// PeerIDFromPublicKey returns the libp2p peer ID of an Ed25519 public key: the
// ID a member with that key has on every network.
func PeerIDFromPublicKey(pub ed25519.PublicKey) (peer.ID, error) {
	if len(pub) != ed25519.PublicKeySize {
		return "", fmt.Errorf("ed25519 public key: want %d bytes, got %d", ed25519.PublicKeySize, len(pub))
	}
	pk, err := crypto.UnmarshalEd25519PublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("ed25519 public key: %w", err)
	}
	return peer.IDFromPublicKey(pk)
}

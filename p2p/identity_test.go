package p2p

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
)

func stdKey(tb testing.TB, name string) ed25519.PrivateKey {
	tb.Helper()
	seed := sha256.Sum256([]byte("meshmon identity test " + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// TestIdentityPeerIDFromPublicKey: the peer ID a member is known by from its
// public key alone is the ID its host gets from the private key.
func TestIdentityPeerIDFromPublicKey(t *testing.T) {
	_, random, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]ed25519.PrivateKey{"a": stdKey(t, "a"), "b": stdKey(t, "b"), "random": random}
	seen := map[peer.ID]string{}
	for name, std := range keys {
		t.Run(name, func(t *testing.T) {
			pub := std.Public().(ed25519.PublicKey)
			fromPub, err := PeerIDFromPublicKey(pub)
			if err != nil {
				t.Fatalf("PeerIDFromPublicKey = %v; want nil error", err)
			}
			priv, err := PrivKey(std)
			if err != nil {
				t.Fatalf("PrivKey = %v; want nil error", err)
			}
			fromPriv, err := peer.IDFromPrivateKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			if fromPub != fromPriv {
				t.Errorf("PeerIDFromPublicKey = %s; want peer.IDFromPrivateKey(PrivKey) = %s", fromPub, fromPriv)
			}
			pair, _, err := crypto.KeyPairFromStdKey(&std)
			if err != nil {
				t.Fatal(err)
			}
			if !priv.Equals(pair) {
				t.Error("PrivKey differs from crypto.KeyPairFromStdKey")
			}
			if prev, dup := seen[fromPub]; dup {
				t.Errorf("keys %s and %s share peer ID %s", prev, name, fromPub)
			}
			seen[fromPub] = name

			// Round trips: the ID inlines the public key, the libp2p key
			// holds the stdlib key, and signatures cross over both ways.
			ext, err := fromPub.ExtractPublicKey()
			if err != nil {
				t.Fatalf("ExtractPublicKey = %v", err)
			}
			if raw, _ := ext.Raw(); !bytes.Equal(raw, pub) {
				t.Errorf("ExtractPublicKey().Raw() = %x; want %x", raw, pub)
			}
			if raw, _ := priv.Raw(); !bytes.Equal(raw, std) {
				t.Errorf("PrivKey(k).Raw() = %x; want k", raw)
			}
			decoded, err := peer.Decode(fromPub.String())
			if err != nil || decoded != fromPub {
				t.Errorf("peer.Decode(%s) = %s, %v; want the same ID", fromPub, decoded, err)
			}
			if !fromPub.MatchesPrivateKey(priv) {
				t.Error("ID does not match its private key")
			}
			msg := []byte("meshmon")
			sig, err := priv.Sign(msg)
			if err != nil {
				t.Fatal(err)
			}
			if !ed25519.Verify(pub, msg, sig) {
				t.Error("stdlib rejects the libp2p key's signature")
			}
			if ok, err := ext.Verify(msg, ed25519.Sign(std, msg)); !ok || err != nil {
				t.Errorf("libp2p Verify(stdlib signature) = %v, %v; want true", ok, err)
			}
		})
	}
}

// TestIdentityBadLength: keys of the wrong size are errors, not panics.
func TestIdentityBadLength(t *testing.T) {
	for _, n := range []int{0, 1, 31, 33, 63, 65, 96} {
		if id, err := PeerIDFromPublicKey(make(ed25519.PublicKey, n)); err == nil {
			t.Errorf("PeerIDFromPublicKey(%d bytes) = %s, nil; want an error", n, id)
		}
		if n == ed25519.PublicKeySize {
			continue
		}
		if _, err := PrivKey(make(ed25519.PrivateKey, n)); err == nil {
			t.Errorf("PrivKey(%d bytes) = nil error; want an error", n)
		}
	}
	if _, err := PeerIDFromPublicKey(nil); err == nil {
		t.Error("PeerIDFromPublicKey(nil) = nil error; want an error")
	}
}

// FuzzIdentityPeerIDFromPublicKey: any 32 bytes give a peer ID that inlines
// them; any other length is an error.
func FuzzIdentityPeerIDFromPublicKey(f *testing.F) {
	f.Add([]byte(stdKey(f, "a").Public().(ed25519.PublicKey)))
	f.Add([]byte{})
	f.Add(make([]byte, 33))
	f.Fuzz(func(t *testing.T, pub []byte) {
		id, err := PeerIDFromPublicKey(pub)
		if len(pub) != ed25519.PublicKeySize {
			if err == nil {
				t.Fatalf("PeerIDFromPublicKey(%d bytes) = %s, nil; want an error", len(pub), id)
			}
			return
		}
		if err != nil {
			t.Fatalf("PeerIDFromPublicKey(%x) = %v; want an ID", pub, err)
		}
		ext, err := id.ExtractPublicKey()
		if err != nil {
			t.Fatalf("ExtractPublicKey = %v", err)
		}
		if raw, _ := ext.Raw(); !bytes.Equal(raw, pub) {
			t.Fatalf("ExtractPublicKey().Raw() = %x; want %x", raw, pub)
		}
	})
}

package configsync

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// NodeKeyPath is the node's private key inside the config dir.
const NodeKeyPath = ".private_keys/node.key"

// ErrKeyFormat is wrapped by every error about a key file's contents.
var ErrKeyFormat = errors.New("not an Ed25519 key in PEM")

// LoadOrCreateNodeKey returns the node's Ed25519 key from
// <dir>/.private_keys/node.key. If the file does not exist and exactly one
// upstream-style per-network key .private_keys/<directory>/<node_id>.key
// does, that key is adopted (copied to node.key) and adopted names it; else a
// new key is generated and created is true. An existing node.key is never
// overwritten, and one that cannot be read is an error.
func LoadOrCreateNodeKey(dir string) (key ed25519.PrivateKey, created bool, adopted string, err error) {
	path := filepath.Join(dir, NodeKeyPath)
	key, err = readPrivateKey(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, false, "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, "", fmt.Errorf("node key: %w", err)
	}
	old := upstreamKeys(filepath.Join(dir, ".private_keys"))
	if len(old) == 1 {
		// The one upstream key is this node's identity: one that cannot
		// be read stops the start, as a bad node.key does, rather than
		// giving the node a new identity in silence.
		k, err := readPrivateKey(old[0])
		if err != nil {
			return nil, false, "", fmt.Errorf("node key: the only upstream key, which would be adopted as %s: %w", path, err)
		}
		key, adopted = k, old[0]
	}
	if key == nil {
		_, key, err = ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, false, "", fmt.Errorf("node key: generate: %w", err)
		}
	}
	data, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		return nil, false, "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process made it first: use theirs.
		key, err = readPrivateKey(path)
		return key, false, "", err
	}
	if err != nil {
		return nil, false, "", fmt.Errorf("node key: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return nil, false, "", fmt.Errorf("node key: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return nil, false, "", fmt.Errorf("node key: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, false, "", fmt.Errorf("node key: close %s: %w", path, err)
	}
	return key, adopted == "", adopted, nil
}

// upstreamKeys lists the upstream-style keys <privDir>/<directory>/*.key.
// It reads directories rather than globbing, so a config dir whose path
// holds glob characters ('[', '*', '?') still finds them.
func upstreamKeys(privDir string) []string {
	var out []string
	dirs, _ := os.ReadDir(privDir)
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		files, _ := os.ReadDir(filepath.Join(privDir, d.Name()))
		for _, f := range files {
			if !f.IsDir() && strings.HasSuffix(f.Name(), ".key") {
				out = append(out, filepath.Join(privDir, d.Name(), f.Name()))
			}
		}
	}
	return out
}

// readPrivateKey reads a private key file; one that cannot be parsed is an
// error naming the file and the fix. It is never replaced by a new key: that
// would give the node another identity, which every member would have to
// learn again.
func readPrivateKey(path string) (ed25519.PrivateKey, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := readLimited(f, maxPubkeySize)
	if err == nil {
		var key ed25519.PrivateKey
		if key, err = ParsePrivateKeyPEM(data); err == nil {
			return key, nil
		}
	}
	return nil, fmt.Errorf("%s: %w\n"+
		"meshmon never replaces a key (a new key is a new identity that every member must learn): "+
		"restore the file from a backup, or move it away to start with a new key and send the new public key "+
		"(meshmon keys show) to every member", path, err)
}

// KeyModeWarning returns a warning when the private key file at path may
// be read by its group or by others, as OpenSSH warns about an unprotected
// key, or "" when it may not (or cannot be checked). The key is used
// anyway: a Docker Desktop bind mount cannot always set mode 0600.
func KeyModeWarning(path string) string {
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm()&0o077 == 0 {
		return ""
	}
	return fmt.Sprintf("private key %s has mode %04o: others may read it; run chmod 600 %s (it is used anyway)",
		path, st.Mode().Perm(), path)
}

// MarshalPrivateKeyPEM encodes key as PKCS#8 PEM ("PRIVATE KEY").
func MarshalPrivateKeyPEM(key ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ParsePrivateKeyPEM decodes a PKCS#8 PEM Ed25519 private key.
func ParsePrivateKeyPEM(data []byte) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%w: want a PKCS#8 \"PRIVATE KEY\" block", ErrKeyFormat)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFormat, err)
	}
	ek, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: the key is a %T", ErrKeyFormat, k)
	}
	return ek, nil
}

// MarshalPublicKeyPEM encodes pub as SPKI PEM ("PUBLIC KEY"), the format of
// pubkeys/<node_id>.pub.
func MarshalPublicKeyPEM(pub ed25519.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// ParsePublicKeyPEM decodes an SPKI PEM Ed25519 public key.
func ParsePublicKeyPEM(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("%w: want a \"PUBLIC KEY\" block", ErrKeyFormat)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyFormat, err)
	}
	ek, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: the key is a %T", ErrKeyFormat, k)
	}
	return ek, nil
}

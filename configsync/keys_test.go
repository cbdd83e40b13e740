package configsync

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadOrCreateNodeKeyCreates(t *testing.T) {
	dir := t.TempDir()
	key, created, adopted, err := LoadOrCreateNodeKey(dir)
	if err != nil || !created || adopted != "" || len(key) != ed25519.PrivateKeySize {
		t.Fatalf("LoadOrCreateNodeKey(empty dir) = %d-byte key, %v, %q, %v; want a new key, true, \"\", nil", len(key), created, adopted, err)
	}
	path := filepath.Join(dir, ".private_keys", "node.key")
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("mode of %s = %v; want 0600", NodeKeyPath, got)
	}
	if info, err := os.Stat(filepath.Dir(path)); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("mode of .private_keys = %v, %v; want 0700", info.Mode().Perm(), err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" || len(rest) != 0 {
		t.Fatalf("pem.Decode(node.key) = %v, %q left; want one PRIVATE KEY block", block, rest)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("x509.ParsePKCS8PrivateKey(node.key) = %v; want PKCS#8", err)
	}
	if k, ok := parsed.(ed25519.PrivateKey); !ok || !k.Equal(key) {
		t.Errorf("x509.ParsePKCS8PrivateKey(node.key) = %T; want the returned Ed25519 key", parsed)
	}

	// A second call returns the same key and writes nothing.
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	key2, created, adopted, err := LoadOrCreateNodeKey(dir)
	if err != nil || created || adopted != "" || !key2.Equal(key) {
		t.Errorf("LoadOrCreateNodeKey(second call) = same key %v, %v, %q, %v; want true, false, \"\", nil", key2.Equal(key), created, adopted, err)
	}
	if info, _ := os.Stat(path); !info.ModTime().Equal(old) {
		t.Errorf("second LoadOrCreateNodeKey changed node.key's mtime to %v; want it untouched", info.ModTime())
	}
}

// TestNodeKeyOpenSSL checks that openssl reads node.key and derives the
// same public key meshmon writes into pubkeys/.
func TestNodeKeyOpenSSL(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		// CI installs openssl (.ci/run); elsewhere a missing openssl is
		// a machine without it, not a failure of meshmon.
		const msg = "openssl not found: install it with `apt-get install -y openssl`"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (skipped because CI is not true)")
	}
	dir := t.TempDir()
	key, _, _, err := LoadOrCreateNodeKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, openssl, "pkey", "-in", filepath.Join(dir, NodeKeyPath), "-pubout").Output()
	if err != nil {
		t.Fatalf("openssl pkey -pubout = %v; want it to read node.key", err)
	}
	want, err := MarshalPublicKeyPEM(key.Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("openssl pkey -pubout = %q; want %q", out, want)
	}
}

func TestLoadOrCreateNodeKeyNeverOverwrites(t *testing.T) {
	valid := string(mustMarshalPrivate(t, seededKey(7)))
	tests := []struct {
		name      string
		content   string
		wantKey   ed25519.PrivateKey
		keyFormat bool
	}{
		{"valid key", valid, seededKey(7), false},
		{"garbage", "not a key\n", nil, true},
		{"empty file", "", nil, true},
		{"public key", testPubPEM(t, 7), nil, true},
		{"truncated PEM", valid[:len(valid)/2], nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, NodeKeyPath)
			writeTree(t, dir, map[string]string{
				NodeKeyPath: tt.content,
				// An upstream key must not be adopted over an existing node.key.
				".private_keys/net/node.key": valid,
			})
			key, created, adopted, err := LoadOrCreateNodeKey(dir)
			if tt.wantKey != nil {
				if err != nil || !key.Equal(tt.wantKey) || created || adopted != "" {
					t.Errorf("LoadOrCreateNodeKey(%s) = right key %v, %v, %q, %v; want true, false, \"\", nil", tt.name, key.Equal(tt.wantKey), created, adopted, err)
				}
			} else {
				if err == nil || key != nil || created {
					t.Errorf("LoadOrCreateNodeKey(%s) = %d-byte key, %v, %v; want an error", tt.name, len(key), created, err)
				}
				if got := errors.Is(err, ErrKeyFormat); got != tt.keyFormat {
					t.Errorf("errors.Is(LoadOrCreateNodeKey(%s), ErrKeyFormat) = %v; want %v", tt.name, got, tt.keyFormat)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil || string(data) != tt.content {
				t.Errorf("node.key after LoadOrCreateNodeKey(%s) = %q, %v; want it unchanged", tt.name, data, err)
			}
		})
	}
}

func TestLoadOrCreateNodeKeyUnreadable(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{NodeKeyPath + "/": ""})
	if key, created, _, err := LoadOrCreateNodeKey(dir); err == nil || key != nil || created {
		t.Errorf("LoadOrCreateNodeKey(node.key is a directory) = %d-byte key, %v, %v; want an error", len(key), created, err)
	}
	if info, err := os.Stat(filepath.Join(dir, NodeKeyPath)); err != nil || !info.IsDir() {
		t.Errorf("node.key after LoadOrCreateNodeKey = %v, %v; want the directory left alone", info, err)
	}
}

func TestLoadOrCreateNodeKeyAdopts(t *testing.T) {
	for _, tt := range []struct {
		name string
		// base is the config dir's name inside the temp dir.
		base string
	}{
		{"plain dir", "config"},
		{"dir with glob characters", "conf[1]*?"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), tt.base)
			upstream := filepath.Join(dir, ".private_keys", "my-network", "my-node.key")
			content := string(mustMarshalPrivate(t, seededKey(3)))
			writeTree(t, dir, map[string]string{".private_keys/my-network/my-node.key": content})
			key, created, adopted, err := LoadOrCreateNodeKey(dir)
			if err != nil || !key.Equal(seededKey(3)) || created || adopted != upstream {
				t.Fatalf("LoadOrCreateNodeKey(one upstream key) = right key %v, %v, %q, %v; want true, false, %q, nil",
					key.Equal(seededKey(3)), created, adopted, err, upstream)
			}
			data, err := os.ReadFile(filepath.Join(dir, NodeKeyPath))
			if err != nil {
				t.Fatalf("node.key not written on adoption: %v", err)
			}
			if k, err := ParsePrivateKeyPEM(data); err != nil || !k.Equal(seededKey(3)) {
				t.Errorf("ParsePrivateKeyPEM(node.key) = %v; want the adopted key", err)
			}
			if info, _ := os.Stat(filepath.Join(dir, NodeKeyPath)); info.Mode().Perm() != 0o600 {
				t.Errorf("mode of adopted node.key = %v; want 0600", info.Mode().Perm())
			}
			if got, err := os.ReadFile(upstream); err != nil || string(got) != content {
				t.Errorf("upstream key after adoption = %q, %v; want it unchanged", got, err)
			}
			// Later calls read node.key and adopt nothing.
			key, created, adopted, err = LoadOrCreateNodeKey(dir)
			if err != nil || !key.Equal(seededKey(3)) || created || adopted != "" {
				t.Errorf("LoadOrCreateNodeKey(after adoption) = right key %v, %v, %q, %v; want true, false, \"\", nil", key.Equal(seededKey(3)), created, adopted, err)
			}
		})
	}
}

func TestLoadOrCreateNodeKeyDoesNotAdopt(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"two upstream keys", map[string]string{
			".private_keys/net-a/node-a.key": string(mustMarshalPrivate(t, seededKey(4))),
			".private_keys/net-b/node-b.key": string(mustMarshalPrivate(t, seededKey(5))),
		}},
		{"two upstream keys in one directory", map[string]string{
			".private_keys/net-a/node-a.key": string(mustMarshalPrivate(t, seededKey(4))),
			".private_keys/net-a/node-b.key": string(mustMarshalPrivate(t, seededKey(5))),
		}},
		{"key not in a network directory", map[string]string{
			".private_keys/old.key": string(mustMarshalPrivate(t, seededKey(4))),
		}},
		{"key one level too deep", map[string]string{
			".private_keys/net-a/sub/node-a.key": string(mustMarshalPrivate(t, seededKey(4))),
		}},
		{"not a .key file", map[string]string{
			".private_keys/net-a/node-a.pem": string(mustMarshalPrivate(t, seededKey(4))),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			key, created, adopted, err := LoadOrCreateNodeKey(dir)
			if err != nil || !created || adopted != "" {
				t.Fatalf("LoadOrCreateNodeKey(%s) = _, %v, %q, %v; want a new key, true, \"\", nil", tt.name, created, adopted, err)
			}
			if key.Equal(seededKey(4)) || key.Equal(seededKey(5)) {
				t.Errorf("LoadOrCreateNodeKey(%s) returned an upstream key; want a new one", tt.name)
			}
			for name, body := range tt.files {
				if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != body {
					t.Errorf("%s after LoadOrCreateNodeKey = %q; want it unchanged", name, got)
				}
			}
		})
	}
}

func TestPublicKeyPEMRoundTrip(t *testing.T) {
	for _, seed := range []byte{0, 1, 255} {
		pub := seededKey(seed).Public().(ed25519.PublicKey)
		data, err := MarshalPublicKeyPEM(pub)
		if err != nil {
			t.Fatalf("MarshalPublicKeyPEM(%x) = %v", pub, err)
		}
		if block, _ := pem.Decode(data); block == nil || block.Type != "PUBLIC KEY" {
			t.Errorf("MarshalPublicKeyPEM(%x) = %q; want a PUBLIC KEY block", pub, data)
		} else if k, err := x509.ParsePKIXPublicKey(block.Bytes); err != nil || !pub.Equal(k) {
			t.Errorf("x509.ParsePKIXPublicKey(MarshalPublicKeyPEM(%x)) = %v, %v; want the key", pub, k, err)
		}
		got, err := ParsePublicKeyPEM(data)
		if err != nil || !got.Equal(pub) {
			t.Errorf("ParsePublicKeyPEM(MarshalPublicKeyPEM(%x)) = %x, %v; want %x, nil", pub, got, err, pub)
		}
	}
}

func TestPrivateKeyPEMRoundTrip(t *testing.T) {
	key := seededKey(9)
	data, err := MarshalPrivateKeyPEM(key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParsePrivateKeyPEM(data)
	if err != nil || !got.Equal(key) {
		t.Errorf("ParsePrivateKeyPEM(MarshalPrivateKeyPEM(k)) = %v; want k", err)
	}
}

func TestParseKeyPEMErrors(t *testing.T) {
	priv := string(mustMarshalPrivate(t, seededKey(1)))
	pub := testPubPEM(t, 1)
	badDER := "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
	badPrivDER := "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
	tests := []struct {
		name, in string
		private  bool
		want     string // exact message, or "" to check only errors.Is
	}{
		{"public: empty", "", false, `not an Ed25519 key in PEM: want a "PUBLIC KEY" block`},
		{"public: garbage", "ssh-ed25519 AAAA", false, `not an Ed25519 key in PEM: want a "PUBLIC KEY" block`},
		{"public: private key", priv, false, `not an Ed25519 key in PEM: want a "PUBLIC KEY" block`},
		{"public: bad DER", badDER, false, ""},
		{"public: ECDSA", ecdsaPubPEM(t), false, "not an Ed25519 key in PEM: the key is a *ecdsa.PublicKey"},
		{"private: empty", "", true, `not an Ed25519 key in PEM: want a PKCS#8 "PRIVATE KEY" block`},
		{"private: public key", pub, true, `not an Ed25519 key in PEM: want a PKCS#8 "PRIVATE KEY" block`},
		{"private: bad DER", badPrivDER, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.private {
				_, err = ParsePrivateKeyPEM([]byte(tt.in))
			} else {
				_, err = ParsePublicKeyPEM([]byte(tt.in))
			}
			if !errors.Is(err, ErrKeyFormat) {
				t.Fatalf("Parse(%q) = %v; want an error wrapping ErrKeyFormat", tt.in, err)
			}
			if tt.want != "" && err.Error() != tt.want {
				t.Errorf("Parse(%q) = %q; want %q", tt.in, err, tt.want)
			}
		})
	}
}

// FuzzParsePublicKeyPEM checks that ParsePublicKeyPEM never panics, that
// every error wraps ErrKeyFormat, and that what it accepts round-trips.
func FuzzParsePublicKeyPEM(f *testing.F) {
	f.Add([]byte(testPubPEM(f, 1)))
	f.Add(mustMarshalPrivate(f, seededKey(1)))
	f.Add([]byte(ecdsaPubPEM(f)))
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA meshmon"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		pub, err := ParsePublicKeyPEM(data)
		if err != nil {
			if !errors.Is(err, ErrKeyFormat) {
				t.Errorf("ParsePublicKeyPEM(%q) = %v; want an error wrapping ErrKeyFormat", data, err)
			}
			return
		}
		if len(pub) != ed25519.PublicKeySize {
			t.Fatalf("ParsePublicKeyPEM(%q) = %d bytes; want %d", data, len(pub), ed25519.PublicKeySize)
		}
		again, err := MarshalPublicKeyPEM(pub)
		if err != nil {
			t.Fatalf("MarshalPublicKeyPEM(ParsePublicKeyPEM(%q)) = %v", data, err)
		}
		if got, err := ParsePublicKeyPEM(again); err != nil || !got.Equal(pub) {
			t.Errorf("ParsePublicKeyPEM(MarshalPublicKeyPEM(ParsePublicKeyPEM(%q))) = %x, %v; want %x", data, got, err, pub)
		}
	})
}

// FuzzParsePrivateKeyPEM is FuzzParsePublicKeyPEM for node.key.
func FuzzParsePrivateKeyPEM(f *testing.F) {
	f.Add(mustMarshalPrivate(f, seededKey(1)))
	f.Add([]byte(testPubPEM(f, 1)))
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		key, err := ParsePrivateKeyPEM(data)
		if err != nil {
			if !errors.Is(err, ErrKeyFormat) {
				t.Errorf("ParsePrivateKeyPEM(%q) = %v; want an error wrapping ErrKeyFormat", data, err)
			}
			return
		}
		if len(key) != ed25519.PrivateKeySize {
			t.Fatalf("ParsePrivateKeyPEM(%q) = %d bytes; want %d", data, len(key), ed25519.PrivateKeySize)
		}
	})
}

// TestLoadOrCreateNodeKeyCorruptUpstream: the only upstream key, the
// node's identity, cannot be read: an error that names it, and no new key.
func TestLoadOrCreateNodeKeyCorruptUpstream(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{".private_keys/net-a/node-a.key": "garbage"})
	key, created, _, err := LoadOrCreateNodeKey(dir)
	if err == nil || key != nil || created {
		t.Fatalf("LoadOrCreateNodeKey(one corrupt upstream key) = %d-byte key, %v, %v; want an error", len(key), created, err)
	}
	for _, want := range []string{filepath.Join(dir, ".private_keys", "net-a", "node-a.key"), "restore the file from a backup"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q; want it to say %q", err, want)
		}
	}
	if !errors.Is(err, ErrKeyFormat) {
		t.Errorf("errors.Is(err, ErrKeyFormat) = false; want true")
	}
	if _, err := os.Stat(filepath.Join(dir, NodeKeyPath)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("node.key after the error: %v; want none written", err)
	}
}

func TestKeyModeWarning(t *testing.T) {
	for _, tt := range []struct {
		mode os.FileMode
		warn bool
	}{{0o600, false}, {0o400, false}, {0o640, true}, {0o644, true}, {0o604, true}} {
		t.Run(tt.mode.String(), func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{NodeKeyPath: string(mustMarshalPrivate(t, seededKey(1)))})
			path := filepath.Join(dir, NodeKeyPath)
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			got := KeyModeWarning(path)
			if (got != "") != tt.warn {
				t.Fatalf("KeyModeWarning(mode %v) = %q; want a warning %v", tt.mode, got, tt.warn)
			}
			if tt.warn && (!strings.Contains(got, "chmod 600 "+path) || !strings.Contains(got, fmt.Sprintf("%04o", tt.mode))) {
				t.Errorf("KeyModeWarning(mode %v) = %q; want the mode and the fix", tt.mode, got)
			}
			// Accepted all the same.
			if key, _, _, err := LoadOrCreateNodeKey(dir); err != nil || !key.Equal(seededKey(1)) {
				t.Errorf("LoadOrCreateNodeKey(mode %v) = %v; want the key", tt.mode, err)
			}
		})
	}
}

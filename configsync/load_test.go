package configsync

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// seededKey returns a deterministic Ed25519 key: one seed byte, one key.
func seededKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

// testPubPEM is the SPKI PEM of seededKey(seed)'s public key.
func testPubPEM(t testing.TB, seed byte) string {
	t.Helper()
	data, err := MarshalPublicKeyPEM(seededKey(seed).Public().(ed25519.PublicKey))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// ecdsaPubPEM is the SPKI PEM of a P-256 public key: valid PEM, wrong
// algorithm.
func ecdsaPubPEM(t testing.TB) string {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// writeTree writes files (slash paths relative to dir → contents) under
// dir. A path ending in "/" is made as an empty directory.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(path, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// treeState records every path under dir with its size, mode and mtime.
func treeState(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[path] = fmt.Sprint(info.Mode(), info.ModTime(), info.Size())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// member returns a config.yml node_config entry.
func memberYAML(id, url string) string {
	return "  - node_id: " + id + "\n    url: " + url + "\n"
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"meshmon.yml": "networks:\n" +
			"  - directory: home\n    node_id: me\n" +
			"  - directory: public\n    node_id: me-too\n    discord_webhook: https://discord.com/api/webhooks/1/x\n",
		"networks/home/config.yml": "network_id: home-net\nnode_config:\n" +
			memberYAML("me", "https://me.example.com:8000") + memberYAML("peer", "https://peer.example.com:8000"),
		"networks/home/pubkeys/me.pub":       testPubPEM(t, 1),
		"networks/home/pubkeys/peer.pub":     testPubPEM(t, 2),
		"networks/public/config.yml":         "network_id: public\nnode_config:\n" + memberYAML("me-too", "https://me.example.com:8000"),
		"networks/public/pubkeys/me-too.pub": testPubPEM(t, 1),
	})
	before := treeState(t, dir)
	cfg, err := Load(dir, "meshmon.yml")
	if err != nil {
		t.Fatalf("Load(dir, meshmon.yml) = %v; want no error", err)
	}
	if got := treeState(t, dir); !reflect.DeepEqual(got, before) {
		t.Errorf("Load changed the config dir: %v; want it untouched (%v)", got, before)
	}
	if cfg.Dir != dir || cfg.File != "meshmon.yml" {
		t.Errorf("Load(dir, meshmon.yml) = Dir %q, File %q; want %q, %q", cfg.Dir, cfg.File, dir, "meshmon.yml")
	}
	if len(cfg.Networks) != 2 {
		t.Fatalf("len(Load(...).Networks) = %d; want 2", len(cfg.Networks))
	}
	tests := []struct {
		dir, nodeID, networkID string
		members                []string
	}{
		{"home", "me", "home-net", []string{"me", "peer"}},
		{"public", "me-too", "public", []string{"me-too"}},
	}
	for i, tt := range tests {
		nw := cfg.Networks[i]
		if nw.Ref.Directory != tt.dir || nw.Ref.NodeID != tt.nodeID || nw.Config.NetworkID != tt.networkID {
			t.Errorf("Networks[%d] = %s/%s/%s; want %s/%s/%s", i, nw.Ref.Directory, nw.Ref.NodeID, nw.Config.NetworkID, tt.dir, tt.nodeID, tt.networkID)
		}
		if want := filepath.Join(dir, "networks", tt.dir); nw.Path != want {
			t.Errorf("Networks[%d].Path = %q; want %q", i, nw.Path, want)
		}
		var ids []string
		for id := range nw.Pubkeys {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		if !slices.Equal(ids, tt.members) {
			t.Errorf("Networks[%d].Pubkeys = %v; want keys for %v", i, ids, tt.members)
		}
		if len(nw.KeyErrors) != 0 || len(nw.Warnings) != 0 {
			t.Errorf("Networks[%d] KeyErrors = %v, Warnings = %q; want none", i, nw.KeyErrors, nw.Warnings)
		}
	}
	if got, want := cfg.Networks[0].Pubkeys["peer"], seededKey(2).Public(); !want.(ed25519.PublicKey).Equal(got) {
		t.Errorf("Networks[0].Pubkeys[peer] = %x; want %x", got, want)
	}
	if got := cfg.Networks[1].Ref.DiscordWebhook.Names(); !slices.Equal(got, []string{"default"}) {
		t.Errorf("Networks[1].Ref.DiscordWebhook.Names() = %q; want [default]", got)
	}
}

func TestLoadProblems(t *testing.T) {
	member := func(id string) string { return memberYAML(id, "https://"+id+".example.com:8000") }
	netA := "network_id: a\nnode_config:\n" + member("me")
	tests := []struct {
		name  string
		files map[string]string
		want  []string // $DIR stands for the config dir
	}{
		{
			name:  "missing nodeconf",
			files: map[string]string{},
			want:  []string{"nodeconf.yml: missing: create $DIR/nodeconf.yml (see the README)"},
		},
		{
			name:  "invalid nodeconf",
			files: map[string]string{"nodeconf.yml": ""},
			want:  []string{"nodeconf.yml: file is empty"},
		},
		{
			name: "own node_id not in node_config",
			files: map[string]string{
				"nodeconf.yml":          "networks:\n  - directory: a\n    node_id: me\n  - directory: b\n    node_id: me\n",
				"networks/a/config.yml": netA,
				"networks/b/config.yml": "network_id: b\nnode_config:\n" + member("other"),
			},
			want: []string{`nodeconf.yml:4: networks[1].node_id: "me" is not in networks/b/config.yml node_config: add it there`},
		},
		{
			name: "duplicate network_id across directories",
			files: map[string]string{
				"nodeconf.yml":               "networks:\n  - directory: a\n    node_id: me\n  - directory: a-copy\n    node_id: me\n",
				"networks/a/config.yml":      netA,
				"networks/a-copy/config.yml": netA,
			},
			want: []string{`nodeconf.yml:4: networks[1].directory: network_id "a" is also the network_id of directory "a": join a network once`},
		},
		{
			name:  "missing config.yml, local",
			files: map[string]string{"nodeconf.yml": "networks:\n  - directory: a\n    node_id: me\n"},
			want:  []string{"networks/a/config.yml: missing: create it, or restart meshmon, which writes a starter file at start (as `meshmon init` does)"},
		},
		{
			name: "missing config.yml, git",
			files: map[string]string{
				"nodeconf.yml": "networks:\n  - directory: a\n    node_id: me\n    config_type: git\n    git_repo: https://example.com/configs.git\n",
			},
			want: []string{"networks/a/config.yml: missing: the repository has not been cloned yet"},
		},
		{
			name: "invalid network config",
			files: map[string]string{
				"nodeconf.yml":          "networks:\n  - directory: a\n    node_id: me\n",
				"networks/a/config.yml": "network_id: a\nnode_config:\n  - node_id: me\n    url: ftp://me.example.com\n",
			},
			want: []string{`networks/a/config.yml:4: node_config[0].url: "ftp://me.example.com": want an http:// or https:// URL, e.g. https://node.example.com:8000`},
		},
		{
			name: "every network's problems at once",
			files: map[string]string{
				"nodeconf.yml": "networks:\n" +
					"  - directory: a\n    node_id: me\n" +
					"  - directory: b\n    node_id: me\n" +
					"  - directory: c\n    node_id: me\n" +
					"  - directory: d\n    node_id: me\n",
				"networks/a/config.yml": netA,
				"networks/c/config.yml": "network_id: c\nnode_config:\n" + member("other"),
				"networks/d/config.yml": "network_id: a\nnode_config: []\n",
			},
			want: []string{
				"networks/b/config.yml: missing: create it, or restart meshmon, which writes a starter file at start (as `meshmon init` does)",
				`nodeconf.yml:6: networks[2].node_id: "me" is not in networks/c/config.yml node_config: add it there`,
				"networks/d/config.yml:2: node_config: list at least one node",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			cfg, err := Load(dir, DefaultNodeConfName)
			if cfg != nil {
				t.Errorf("Load(%s) = %+v; want nil", tt.name, cfg)
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, strings.ReplaceAll(w, "$DIR", dir))
			}
			if got := problemStrings(err); !slices.Equal(got, want) {
				t.Errorf("Load(%s) = %q; want %q", tt.name, got, want)
			}
			if got, want := errString(err), strings.Join(want, "\n"); got != want {
				t.Errorf("Load(%s).Error() = %q; want %q", tt.name, got, want)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestLoadUnreadableNodeConf(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"nodeconf.yml/": ""})
	_, err := Load(dir, DefaultNodeConfName)
	if err == nil || len(Problems(err)) != 0 || !strings.HasPrefix(err.Error(), "read node config: ") {
		t.Errorf("Load(nodeconf.yml is a directory) = %v; want a read error that is not a Problem", err)
	}
}

func TestLoadNetworkKeys(t *testing.T) {
	local := NetworkRef{Directory: "a", NodeID: "me", ConfigType: ConfigLocal}
	git := NetworkRef{Directory: "a", NodeID: "me", ConfigType: ConfigGit, GitRepo: "https://example.com/c.git", GitInterval: DefaultGitInterval}
	config := "network_id: a\nnode_config:\n" +
		memberYAML("me", "https://me.example.com:8000") + memberYAML("peer", "https://peer.example.com:8000")
	tests := []struct {
		name      string
		ref       NetworkRef
		config    string
		files     map[string]string // under networks/a
		pubkeys   []string
		keyErrors map[string]string // $DIR stands for the config dir
		keyFormat []string          // KeyErrors that must wrap ErrKeyFormat
		warnings  []string
		// localOnly: a local case that git cannot hold (an empty
		// directory); every other local case also runs as a git checkout,
		// which must load the same way.
		localOnly bool
	}{
		{
			name:    "all keys",
			ref:     local,
			config:  config,
			files:   map[string]string{"pubkeys/me.pub": testPubPEM(t, 1), "pubkeys/peer.pub": testPubPEM(t, 2)},
			pubkeys: []string{"me", "peer"},
		},
		{
			name:      "member pubkey missing",
			ref:       local,
			config:    config,
			files:     map[string]string{"pubkeys/me.pub": testPubPEM(t, 1)},
			pubkeys:   []string{"me"},
			keyErrors: map[string]string{"peer": "no public key: add $DIR/networks/a/pubkeys/peer.pub"},
		},
		{
			name:      "own pubkey missing, local",
			ref:       local,
			config:    config,
			files:     map[string]string{"pubkeys/peer.pub": testPubPEM(t, 2)},
			pubkeys:   []string{"peer"},
			keyErrors: map[string]string{"me": "no public key: add $DIR/networks/a/pubkeys/me.pub"},
			localOnly: true, // git mode: the next case
		},
		{
			name:     "own pubkey missing, git",
			ref:      git,
			config:   config,
			files:    map[string]string{"pubkeys/peer.pub": testPubPEM(t, 2)},
			pubkeys:  []string{"peer"},
			warnings: []string{"this node's key is not in the repository yet: send $DIR/.public_keys/a/me.pub to its maintainers"},
		},
		{
			name:      "member pubkey missing, git",
			ref:       git,
			config:    config,
			files:     map[string]string{"pubkeys/me.pub": testPubPEM(t, 1)},
			pubkeys:   []string{"me"},
			keyErrors: map[string]string{"peer": "no public key: add $DIR/networks/a/pubkeys/peer.pub"},
		},
		{
			name:      "garbage pubkey",
			ref:       local,
			config:    config,
			files:     map[string]string{"pubkeys/me.pub": testPubPEM(t, 1), "pubkeys/peer.pub": "ssh-ed25519 AAAA peer\n"},
			pubkeys:   []string{"me"},
			keyErrors: map[string]string{"peer": `pubkeys/peer.pub: not an Ed25519 key in PEM: want a "PUBLIC KEY" block`},
			keyFormat: []string{"peer"},
		},
		{
			name:   "private key as pubkey",
			ref:    local,
			config: config,
			files: map[string]string{
				"pubkeys/me.pub":   testPubPEM(t, 1),
				"pubkeys/peer.pub": string(mustMarshalPrivate(t, seededKey(2))),
			},
			pubkeys:   []string{"me"},
			keyErrors: map[string]string{"peer": `pubkeys/peer.pub: not an Ed25519 key in PEM: want a "PUBLIC KEY" block`},
			keyFormat: []string{"peer"},
		},
		{
			name:      "ECDSA pubkey",
			ref:       local,
			config:    config,
			files:     map[string]string{"pubkeys/me.pub": testPubPEM(t, 1), "pubkeys/peer.pub": ecdsaPubPEM(t)},
			pubkeys:   []string{"me"},
			keyErrors: map[string]string{"peer": "pubkeys/peer.pub: not an Ed25519 key in PEM: the key is a *ecdsa.PublicKey"},
			keyFormat: []string{"peer"},
		},
		{
			name:   "pubkey is a directory",
			ref:    local,
			config: config,
			files:  map[string]string{"pubkeys/me.pub": testPubPEM(t, 1), "pubkeys/peer.pub/": ""},
			// A directory is not a key file, nor a stray one.
			pubkeys:   []string{"me"},
			keyErrors: map[string]string{"peer": "pubkeys/peer.pub: not a regular file (mode drwxr-xr-x): it must be the file itself, not a link or directory"},
			localOnly: true,
		},
		{
			name:     "placeholder url",
			ref:      local,
			config:   "network_id: a\nnode_config:\n" + memberYAML("me", PlaceholderURL),
			files:    map[string]string{"pubkeys/me.pub": testPubPEM(t, 1)},
			pubkeys:  []string{"me"},
			warnings: []string{"set url for node me in networks/a/config.yml"},
		},
		{
			name:   "placeholder url and garbage pubkey",
			ref:    local,
			config: "network_id: a\nnode_config:\n" + memberYAML("me", "https://me.example.com") + memberYAML("peer", PlaceholderURL),
			files: map[string]string{
				"pubkeys/me.pub":   testPubPEM(t, 1),
				"pubkeys/peer.pub": "replace me\n",
			},
			pubkeys:   []string{"me"},
			keyErrors: map[string]string{"peer": `pubkeys/peer.pub: not an Ed25519 key in PEM: want a "PUBLIC KEY" block`},
			keyFormat: []string{"peer"},
			warnings:  []string{"set url for node peer in networks/a/config.yml"},
		},
		{
			name:     "placeholder url, own key missing, git",
			ref:      git,
			config:   "network_id: a\nnode_config:\n" + memberYAML("me", PlaceholderURL),
			pubkeys:  []string{},
			warnings: []string{"set url for node me in networks/a/config.yml", "this node's key is not in the repository yet: send $DIR/.public_keys/a/me.pub to its maintainers"},
		},
		{
			name:   "stray pubkey file",
			ref:    local,
			config: config,
			files: map[string]string{
				"pubkeys/me.pub":    testPubPEM(t, 1),
				"pubkeys/peer.pub":  testPubPEM(t, 2),
				"pubkeys/ghost.pub": testPubPEM(t, 3),
				"pubkeys/README":    "not a key",
				"pubkeys/old.pub/":  "",
			},
			pubkeys:  []string{"me", "peer"},
			warnings: []string{"pubkeys/ghost.pub is for no node in node_config"},
		},
		{
			name:    "no url, no key: a NATed member without its key yet",
			ref:     local,
			config:  "network_id: a\nnode_config:\n  - node_id: me\n  - node_id: nat\n",
			files:   map[string]string{"pubkeys/me.pub": testPubPEM(t, 1)},
			pubkeys: []string{"me"},
			keyErrors: map[string]string{
				"nat": "no public key: add $DIR/networks/a/pubkeys/nat.pub",
			},
		},
	}
	type variant struct {
		name string
		ref  NetworkRef
	}
	for _, tt := range tests {
		variants := []variant{{tt.name, tt.ref}}
		if tt.ref.ConfigType == ConfigLocal && !tt.localOnly {
			variants = append(variants, variant{tt.name + ", as git", git})
		}
		for _, v := range variants {
			t.Run(v.name, func(t *testing.T) {
				dir := t.TempDir()
				files := map[string]string{"networks/a/config.yml": tt.config}
				for name, body := range tt.files {
					files["networks/a/"+name] = body
				}
				writeTree(t, dir, files)
				if v.ref.ConfigType == ConfigGit {
					commitDir(t, filepath.Join(dir, "networks", "a"))
				}
				checkLoadNetworkKeys(t, dir, v.ref, tt.name, tt.pubkeys, tt.keyErrors, tt.keyFormat, tt.warnings)
			})
		}
	}
}

// commitDir makes dir a git checkout whose HEAD commit holds every file in
// it, then overwrites config.yml in the working tree with garbage: a git
// network is read from its commit, never from the working tree.
func commitDir(t *testing.T, dir string) {
	t.Helper()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := wt.AddGlob("."); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "t", Email: "t@example.com", When: time.Unix(1700000000, 0)}
	if _, err := wt.Commit("files", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte("half: [written"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkLoadNetworkKeys loads network ref from dir and checks its keys, key
// errors and warnings ($DIR in them stands for dir).
func checkLoadNetworkKeys(t *testing.T, dir string, ref NetworkRef, name string, pubkeys []string, keyErrors map[string]string, keyFormat, warnings []string) {
	t.Helper()
	tt := struct {
		name      string
		pubkeys   []string
		keyErrors map[string]string
		keyFormat []string
		warnings  []string
	}{name, pubkeys, keyErrors, keyFormat, warnings}
	nw, err := LoadNetwork(dir, ref)
	if err != nil {
		t.Fatalf("LoadNetwork(%s) = %v; want the network to load", tt.name, err)
	}
	var ids []string
	for id := range nw.Pubkeys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	if !slices.Equal(ids, tt.pubkeys) && len(ids)+len(tt.pubkeys) > 0 {
		t.Errorf("LoadNetwork(%s).Pubkeys = %v; want keys for %v", tt.name, ids, tt.pubkeys)
	}
	gotErrs := map[string]string{}
	for id, err := range nw.KeyErrors {
		gotErrs[id] = err.Error()
	}
	wantErrs := map[string]string{}
	for id, msg := range tt.keyErrors {
		wantErrs[id] = strings.ReplaceAll(msg, "$DIR", dir)
	}
	if !reflect.DeepEqual(gotErrs, wantErrs) {
		t.Errorf("LoadNetwork(%s).KeyErrors = %q; want %q", tt.name, gotErrs, wantErrs)
	}
	for _, id := range tt.keyFormat {
		if !errors.Is(nw.KeyErrors[id], ErrKeyFormat) {
			t.Errorf("errors.Is(LoadNetwork(%s).KeyErrors[%s], ErrKeyFormat) = false; want true", tt.name, id)
		}
	}
	for id, err := range nw.KeyErrors {
		if !slices.Contains(tt.keyFormat, id) && errors.Is(err, ErrKeyFormat) {
			t.Errorf("errors.Is(LoadNetwork(%s).KeyErrors[%s], ErrKeyFormat) = true; want false", tt.name, id)
		}
	}
	var wantWarn []string
	for _, w := range tt.warnings {
		wantWarn = append(wantWarn, strings.ReplaceAll(w, "$DIR", dir))
	}
	if !slices.Equal(nw.Warnings, wantWarn) {
		t.Errorf("LoadNetwork(%s).Warnings = %q; want %q", tt.name, nw.Warnings, wantWarn)
	}
}

// TestLoadKeyErrorsKeepNetwork checks through Load that a member without a
// usable key does not stop the network or the config from loading.
func TestLoadKeyErrorsKeepNetwork(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"nodeconf.yml":               "networks:\n  - directory: a\n    node_id: me\n",
		"networks/a/config.yml":      "network_id: a\nnode_config:\n" + memberYAML("me", PlaceholderURL) + memberYAML("b", "https://b.example.com") + memberYAML("c", "https://c.example.com"),
		"networks/a/pubkeys/me.pub":  testPubPEM(t, 1),
		"networks/a/pubkeys/c.pub":   "garbage",
		"networks/a/pubkeys/old.pub": testPubPEM(t, 9),
	})
	cfg, err := Load(dir, DefaultNodeConfName)
	if err != nil {
		t.Fatalf("Load = %v; want the config to load despite key problems", err)
	}
	nw := cfg.Networks[0]
	if _, ok := nw.KeyErrors["b"]; !ok {
		t.Errorf("Load: KeyErrors[b] missing; want no public key")
	}
	if !errors.Is(nw.KeyErrors["c"], ErrKeyFormat) {
		t.Errorf("errors.Is(Load: KeyErrors[c], ErrKeyFormat) = false (%v); want true", nw.KeyErrors["c"])
	}
	want := []string{"pubkeys/old.pub is for no node in node_config", "set url for node me in networks/a/config.yml"}
	if !slices.Equal(nw.Warnings, want) {
		t.Errorf("Load: Warnings = %q; want %q", nw.Warnings, want)
	}
}

func mustMarshalPrivate(t testing.TB, k ed25519.PrivateKey) []byte {
	t.Helper()
	data, err := MarshalPrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestLoadTooLarge: a config file over 1 MiB is refused before it is read,
// with a clear message, even when its content would be valid (a file of
// comments); one just under the limit loads.
func TestLoadTooLarge(t *testing.T) {
	const nodeconf = "networks:\n  - directory: a\n    node_id: me\n"
	network := "network_id: a\nnode_config:\n" + memberYAML("me", "https://me.example.com")
	pad := func(body string, size int) string {
		line := "# " + strings.Repeat("x", 77) + "\n"
		var b strings.Builder
		b.WriteString(body)
		for b.Len()+len(line) <= size {
			b.WriteString(line)
		}
		return b.String()
	}
	for _, tt := range []struct {
		name     string
		nodeconf string
		network  string
		want     string // "" for a config that loads
	}{
		{"nodeconf over 1 MiB", pad(nodeconf, 2<<20), network, "nodeconf.yml: file too large: "},
		{"network config over 1 MiB", nodeconf, pad(network, MaxConfigSize+100), "networks/a/config.yml: file too large: "},
		{"both under 1 MiB", pad(nodeconf, MaxConfigSize), pad(network, MaxConfigSize), ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, map[string]string{
				"nodeconf.yml":              tt.nodeconf,
				"networks/a/config.yml":     tt.network,
				"networks/a/pubkeys/me.pub": testPubPEM(t, 1),
			})
			_, err := Load(dir, DefaultNodeConfName)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Load = %v; want it to load", err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || !strings.Contains(err.Error(), "at most 1 MiB") {
				t.Fatalf("Load = %v; want %q… at most 1 MiB", err, tt.want)
			}
			if len(Problems(err)) != 1 {
				t.Errorf("Problems(Load) = %v; want the one problem", Problems(err))
			}
		})
	}
}

// TestLoadDuplicateKeys: two members with the same public key (a copied
// .pub) is an error that names both, not a random winner on each load.
func TestLoadDuplicateKeys(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"nodeconf.yml": "networks:\n  - directory: a\n    node_id: me\n",
		"networks/a/config.yml": "network_id: a\nnode_config:\n" + memberYAML("me", "https://me.example.com") +
			memberYAML("b", "https://b.example.com") + memberYAML("c", "https://c.example.com"),
		"networks/a/pubkeys/me.pub": testPubPEM(t, 1),
		"networks/a/pubkeys/b.pub":  testPubPEM(t, 2),
		"networks/a/pubkeys/c.pub":  testPubPEM(t, 2),
	})
	_, err := Load(dir, DefaultNodeConfName)
	ps := Problems(err)
	if len(ps) != 1 {
		t.Fatalf("Load = %v; want one problem", err)
	}
	want := "networks/a/pubkeys/c.pub: members b and c have the same public key (pubkeys/b.pub and pubkeys/c.pub): " +
		"each member needs its own; put the output of `meshmon keys show` on node c into pubkeys/c.pub"
	if ps[0].Error() != want {
		t.Errorf("Load = %q; want %q", ps[0].Error(), want)
	}
}

package configsync

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing/format/pktline"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	"golang.org/x/crypto/ssh"

	"github.com/meshmon/meshmon/configsync/gittest"
)

// gitTestKey returns a new public key as PEM.
func gitTestKey(t *testing.T) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	data, err := MarshalPublicKeyPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// gitNetConfig is a valid config.yml with the given network id and members.
func gitNetConfig(networkID string, ids ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "network_id: %s\nnode_config:\n", networkID)
	for _, id := range ids {
		fmt.Fprintf(&b, "  - node_id: %s\n    url: https://%s.example.com:8000\n", id, id)
	}
	return b.String()
}

// seededRemote is a remote whose default branch is trunk, holding a valid
// network with member a (and its key); it returns the seed commit too.
func seededRemote(t *testing.T) (*gittest.Remote, string) {
	t.Helper()
	r := gittest.NewRemote(t, "", "trunk")
	r.Write("config.yml", []byte(gitNetConfig("testnet", "a")))
	r.Write("pubkeys/a.pub", []byte(gitTestKey(t)))
	r.Write("README.md", []byte("meshmon network config\n"))
	return r, r.CommitAndPush("network with a")
}

// gitCheckout is what most git tests start from: a seeded remote
// (seededRemote) and node a's checkout of it in a fresh config dir, made by
// Ensure.
type gitCheckout struct {
	remote *gittest.Remote
	seeded string // the seed commit
	dir    string // the config dir
	ref    NetworkRef
	sync   *GitSync
}

func newGitCheckout(t *testing.T) *gitCheckout {
	t.Helper()
	r, seeded := seededRemote(t)
	c := &gitCheckout{remote: r, seeded: seeded, dir: t.TempDir(), ref: gitTestRef(r.Path), sync: newGitTestSync()}
	if _, err := c.sync.Ensure(t.Context(), c.dir, c.ref); err != nil {
		t.Fatal(err)
	}
	return c
}

func gitTestRef(repo string) NetworkRef {
	return NetworkRef{Directory: "net", NodeID: "a", ConfigType: ConfigGit, GitRepo: repo, GitInterval: DefaultGitInterval}
}

func newGitTestSync() *GitSync {
	return NewGitSync(GitSyncOptions{
		Now:    func() time.Time { return time.Unix(1_800_000_000, 0) },
		Getenv: func(string) string { return "" },
	})
}

// gitReadFile returns a file of the checkout, or "<absent>".
func gitReadFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return "<absent>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// gitSnapshot reads every file of a checkout outside .git.
func gitSnapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = gitReadFile(t, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gitEqualMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// gitNoCloneLeftovers fails if a temporary clone directory is left in networks/.
func gitNoCloneLeftovers(t *testing.T, dir string) {
	t.Helper()
	left, _ := filepath.Glob(filepath.Join(dir, "networks", ".*.clone-*"))
	if len(left) > 0 {
		t.Errorf("temporary clone directories left behind: %v", left)
	}
}

func TestGitEnsureClonesRemoteDefaultBranch(t *testing.T) {
	r, first := seededRemote(t)
	// A "main" branch with another network proves the remote HEAD (trunk)
	// is followed, not a hard-coded main.
	r.SwitchTo("main")
	r.Write("config.yml", []byte(gitNetConfig("wrong", "a")))
	r.Commit("main is not the default")
	r.Push()

	dir := t.TempDir()
	ref := gitTestRef(r.Path)
	g := newGitTestSync()
	st, err := g.Ensure(t.Context(), dir, ref)
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	if st.Commit != first || st.Ref != "refs/heads/trunk" {
		t.Errorf("Ensure = commit %s ref %s; want %s refs/heads/trunk", st.Commit, st.Ref, first)
	}
	if !st.FetchedAt.Equal(time.Unix(1_800_000_000, 0)) {
		t.Errorf("FetchedAt = %v; want the injected clock", st.FetchedAt)
	}
	if len(st.LocalChanges) != 0 {
		t.Errorf("LocalChanges = %v; want none", st.LocalChanges)
	}
	nw, err := LoadNetwork(dir, ref)
	if err != nil {
		t.Fatalf("LoadNetwork after clone: %v", err)
	}
	if nw.Config.NetworkID != "testnet" || nw.Pubkeys["a"] == nil {
		t.Errorf("loaded network %q with keys %v; want testnet with a's key", nw.Config.NetworkID, nw.Pubkeys)
	}
	gitNoCloneLeftovers(t, dir)
	if got, err := ReadCommit(NetworkDir(dir, "net")); err != nil || got != first {
		t.Errorf("ReadCommit = %q, %v; want %s", got, err, first)
	}

	// The own key goes beside the checkout, never into it.
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := ExportPublicKey(PublicKeyExportPath(dir, ref), pub); err != nil {
		t.Fatal(err)
	}
	if _, err := ScaffoldNetwork(dir, ref, pub); !errors.Is(err, ErrGitModeScaffold) {
		t.Errorf("ScaffoldNetwork(git ref) = %v; want ErrGitModeScaffold", err)
	}

	// An existing checkout is kept as it is: Ensure does not fetch.
	r.SwitchTo("trunk")
	r.Write("config.yml", []byte(gitNetConfig("testnet", "a", "b")))
	r.Commit("add b")
	r.Push()
	st, err = g.Ensure(t.Context(), dir, ref)
	if err != nil {
		t.Fatalf("second Ensure: %v", err)
	}
	if st.Commit != first || len(st.LocalChanges) != 0 || !st.FetchedAt.IsZero() {
		t.Errorf("second Ensure = %+v; want commit %s, clean, not fetched", st, first)
	}
}

func TestGitFetchAppliesNewMember(t *testing.T) {
	c := newGitCheckout(t)
	r, dir, ref, g := c.remote, c.dir, c.ref, c.sync
	if _, changed, err := g.Fetch(t.Context(), dir, ref); err != nil || changed {
		t.Fatalf("Fetch with nothing new = changed %v, %v; want false, nil", changed, err)
	}

	r.Write("config.yml", []byte(gitNetConfig("testnet", "a", "b")))
	r.Write("pubkeys/b.pub", []byte(gitTestKey(t)))
	second := r.Commit("add b")
	r.Push()

	st, changed, err := g.Fetch(t.Context(), dir, ref)
	if err != nil || !changed {
		t.Fatalf("Fetch = changed %v, %v; want true, nil", changed, err)
	}
	if st.Commit != second || len(st.LocalChanges) != 0 {
		t.Errorf("Fetch = %+v; want commit %s, clean", st, second)
	}
	nw, err := LoadNetwork(dir, ref)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := nw.Config.Member("b"); !ok || nw.Pubkeys["b"] == nil {
		t.Errorf("after Fetch: member b %v, key %v; want both", ok, nw.Pubkeys["b"] != nil)
	}
	if _, changed, err := g.Fetch(t.Context(), dir, ref); err != nil || changed {
		t.Errorf("Fetch again = changed %v, %v; want false, nil", changed, err)
	}
}

func TestGitFetchRefusesInvalidCommitThenAppliesNextGood(t *testing.T) {
	c := newGitCheckout(t)
	r, dir, ref, g := c.remote, c.dir, c.ref, c.sync
	good := c.seeded
	checkout := NetworkDir(dir, "net")
	before := gitSnapshot(t, checkout)

	r.Write("config.yml", []byte("network_id: testnet\nnode_config:\n  - node_id: a\n    urll: https://a.example.com\n"))
	r.Write("pubkeys/b.pub", []byte("not a key\n"))
	bad := r.Commit("broken")
	r.Push()

	for i := range 2 { // refused again on retry
		st, changed, err := g.Fetch(t.Context(), dir, ref)
		var ice *InvalidCommitError
		if !errors.As(err, &ice) {
			t.Fatalf("Fetch #%d = %v; want *InvalidCommitError", i, err)
		}
		if ice.Commit != bad || !strings.Contains(err.Error(), bad) {
			t.Errorf("error names commit %s (%q); want %s", ice.Commit, err, bad)
		}
		var files []string
		for _, p := range Problems(err) {
			files = append(files, fmt.Sprintf("%s:%d", p.File, p.Line))
		}
		// The malformed pubkeys/b.pub is not a problem of the commit: it
		// would only mark member b "no key" (TestGitMalformedPubkeyMarksNoKey).
		if want := []string{"config.yml:4"}; !slices.Equal(files, want) {
			t.Errorf("problems at %v; want %v (all of: %v)", files, want, err)
		}
		if changed || st.Commit != good {
			t.Errorf("Fetch = changed %v, commit %s; want false, %s", changed, st.Commit, good)
		}
	}
	if after := gitSnapshot(t, checkout); !gitEqualMaps(before, after) {
		t.Errorf("checkout changed by a refused commit:\nbefore %v\nafter  %v", before, after)
	}
	if got, _ := ReadCommit(checkout); got != good {
		t.Errorf("ReadCommit = %s; want %s", got, good)
	}
	if _, err := LoadNetwork(dir, ref); err != nil {
		t.Errorf("old config no longer loads: %v", err)
	}

	// A commit removing this node from node_config is refused as Load would.
	r.Write("config.yml", []byte(gitNetConfig("testnet", "b")))
	r.Write("pubkeys/b.pub", []byte(gitTestKey(t)))
	r.Commit("drop a")
	r.Push()
	if _, _, err := g.Fetch(t.Context(), dir, ref); err == nil || !strings.Contains(err.Error(), `"a" (this node's node_id in nodeconf) is not in node_config`) {
		t.Errorf("Fetch of a commit without this node = %v; want it refused", err)
	}

	r.Write("config.yml", []byte(gitNetConfig("testnet", "a", "b")))
	fixed := r.Commit("fixed")
	r.Push()
	st, changed, err := g.Fetch(t.Context(), dir, ref)
	if err != nil || !changed || st.Commit != fixed {
		t.Fatalf("Fetch of the fix = %+v, %v, %v; want commit %s applied", st, changed, err, fixed)
	}
	nw, err := LoadNetwork(dir, ref)
	if err != nil || nw.Pubkeys["b"] == nil {
		t.Errorf("after the fix: %v, key b %v", err, nw != nil && nw.Pubkeys["b"] != nil)
	}
}

func TestGitFetchFollowsForcePush(t *testing.T) {
	r, base := seededRemote(t)
	r.Write("config.yml", []byte(gitNetConfig("testnet", "a", "b")))
	r.Write("pubkeys/b.pub", []byte(gitTestKey(t)))
	r.Commit("add b")
	r.Push()

	dir := t.TempDir()
	ref := gitTestRef(r.Path)
	g := newGitTestSync()
	if _, err := g.Ensure(t.Context(), dir, ref); err != nil {
		t.Fatal(err)
	}
	checkout := NetworkDir(dir, "net")
	if gitReadFile(t, filepath.Join(checkout, "pubkeys/b.pub")) == "<absent>" {
		t.Fatal("b.pub not checked out")
	}

	// Rewrite history: drop "add b", add c instead.
	r.ResetTo(base)
	r.Write("config.yml", []byte(gitNetConfig("testnet", "a", "c")))
	cKey := gitTestKey(t)
	r.Write("pubkeys/c.pub", []byte(cKey))
	rewritten := r.Commit("add c instead")
	r.Push()

	st, changed, err := g.Fetch(t.Context(), dir, ref)
	if err != nil || !changed || st.Commit != rewritten {
		t.Fatalf("Fetch after force-push = %+v, %v, %v; want commit %s", st, changed, err, rewritten)
	}
	if got := gitReadFile(t, filepath.Join(checkout, "pubkeys/b.pub")); got != "<absent>" {
		t.Errorf("pubkeys/b.pub after rewrite = %q; want it removed", got)
	}
	if got := gitReadFile(t, filepath.Join(checkout, "pubkeys/c.pub")); got != cKey {
		t.Errorf("pubkeys/c.pub = %q; want c's key", got)
	}
	if len(st.LocalChanges) != 0 {
		t.Errorf("LocalChanges = %v; want none", st.LocalChanges)
	}
}

func TestGitRefBranchAndTag(t *testing.T) {
	r, _ := seededRemote(t)
	r.SwitchTo("stable")
	r.Write("config.yml", []byte(gitNetConfig("stable-net", "a")))
	stable := r.Commit("stable")
	r.Tag("v1")
	r.Push("+refs/heads/stable:refs/heads/stable", "+refs/tags/v1:refs/tags/v1")

	t.Run("branch", func(t *testing.T) {
		dir := t.TempDir()
		ref := gitTestRef(r.Path)
		ref.GitRef = "stable"
		g := newGitTestSync()
		st, err := g.Ensure(t.Context(), dir, ref)
		if err != nil || st.Commit != stable || st.Ref != "refs/heads/stable" {
			t.Fatalf("Ensure = %+v, %v; want stable at %s", st, err, stable)
		}
		// A push to the default branch does not concern this checkout.
		r.SwitchTo("trunk")
		r.Write("README.md", []byte("changed on trunk\n"))
		r.Commit("trunk moves")
		r.Push()
		if _, changed, err := g.Fetch(t.Context(), dir, ref); err != nil || changed {
			t.Errorf("Fetch after a trunk push = %v, %v; want unchanged", changed, err)
		}
		r.SwitchTo("stable")
		r.Write("config.yml", []byte(gitNetConfig("stable-net", "a", "b")))
		next := r.Commit("stable moves")
		r.Push()
		st, changed, err := g.Fetch(t.Context(), dir, ref)
		if err != nil || !changed || st.Commit != next || st.Ref != "refs/heads/stable" {
			t.Errorf("Fetch after a stable push = %+v, %v, %v; want %s on stable", st, changed, err, next)
		}
	})

	t.Run("tag", func(t *testing.T) {
		dir := t.TempDir()
		ref := gitTestRef(r.Path)
		ref.GitRef = "v1"
		g := newGitTestSync()
		st, err := g.Ensure(t.Context(), dir, ref)
		if err != nil || st.Commit != stable || st.Ref != "refs/tags/v1" {
			t.Fatalf("Ensure = %+v, %v; want v1 at %s", st, err, stable)
		}
		nw, err := LoadNetwork(dir, ref)
		if err != nil || nw.Config.NetworkID != "stable-net" {
			t.Fatalf("LoadNetwork = %v; want stable-net", err)
		}
		// Moving the tag is followed.
		r.SwitchTo("stable")
		r.Write("config.yml", []byte(gitNetConfig("stable-net", "a", "c")))
		moved := r.Commit("for v1 again")
		r.Tag("v1")
		r.Push("+refs/tags/v1:refs/tags/v1")
		st, changed, err := g.Fetch(t.Context(), dir, ref)
		if err != nil || !changed || st.Commit != moved || st.Ref != "refs/tags/v1" {
			t.Errorf("Fetch after moving v1 = %+v, %v, %v; want %s", st, changed, err, moved)
		}
		if rs, err := ReadGitState(NetworkDir(dir, "net")); err != nil || rs.Ref != "refs/tags/v1" || rs.Commit != moved {
			t.Errorf("ReadGitState = %+v, %v; want v1 at %s", rs, err, moved)
		}
	})

	t.Run("missing", func(t *testing.T) {
		dir := t.TempDir()
		ref := gitTestRef(r.Path)
		ref.GitRef = "nope"
		_, err := newGitTestSync().Ensure(t.Context(), dir, ref)
		if !errors.Is(err, ErrRefNotFound) {
			t.Errorf("Ensure with git_ref nope = %v; want ErrRefNotFound", err)
		}
		if _, err := os.Stat(NetworkDir(dir, "net")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("network dir after a failed clone: %v; want none", err)
		}
	})
}

func TestGitUnreachableRemote(t *testing.T) {
	t.Run("at clone", func(t *testing.T) {
		dir := t.TempDir()
		ref := gitTestRef(filepath.Join(t.TempDir(), "gone.git"))
		_, err := newGitTestSync().Ensure(t.Context(), dir, ref)
		if !errors.Is(err, transport.ErrRepositoryNotFound) || !strings.Contains(err.Error(), "gone.git") {
			t.Errorf("Ensure of a missing repo = %v; want ErrRepositoryNotFound naming it", err)
		}
		if _, err := os.Stat(NetworkDir(dir, "net")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("network dir after a failed clone: %v; want none", err)
		}
		gitNoCloneLeftovers(t, dir)
	})

	t.Run("during fetch", func(t *testing.T) {
		c := newGitCheckout(t)
		r, dir, ref, g := c.remote, c.dir, c.ref, c.sync
		first := c.seeded
		checkout := NetworkDir(dir, "net")
		before := gitSnapshot(t, checkout)
		moved := r.Path + ".away"
		if err := os.Rename(r.Path, moved); err != nil {
			t.Fatal(err)
		}
		st, changed, err := g.Fetch(t.Context(), dir, ref)
		if err == nil || changed {
			t.Fatalf("Fetch of a gone repo = %v, %v; want an error", changed, err)
		}
		if st.Commit != first {
			t.Errorf("state on error = %+v; want the checkout's commit %s", st, first)
		}
		if after := gitSnapshot(t, checkout); !gitEqualMaps(before, after) {
			t.Errorf("checkout changed by a failed fetch:\nbefore %v\nafter  %v", before, after)
		}
		if _, err := LoadNetwork(dir, ref); err != nil {
			t.Errorf("checkout no longer loads: %v", err)
		}
		// Back online: the next fetch works.
		if err := os.Rename(moved, r.Path); err != nil {
			t.Fatal(err)
		}
		r.Write("config.yml", []byte(gitNetConfig("testnet", "a", "b")))
		next := r.Commit("add b")
		r.Push()
		if st, changed, err := g.Fetch(t.Context(), dir, ref); err != nil || !changed || st.Commit != next {
			t.Errorf("Fetch when back = %+v, %v, %v; want %s", st, changed, err, next)
		}
	})

	t.Run("cancelled", func(t *testing.T) {
		r, _ := seededRemote(t)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := newGitTestSync().Ensure(ctx, t.TempDir(), gitTestRef(r.Path))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Ensure with a cancelled context = %v; want context.Canceled", err)
		}
	})
}

func TestGitLocalChangesAreKept(t *testing.T) {
	c := newGitCheckout(t)
	r, dir, ref, g := c.remote, c.dir, c.ref, c.sync
	checkout := NetworkDir(dir, "net")
	cfgPath := filepath.Join(checkout, "config.yml")
	original := gitReadFile(t, cfgPath)
	edited := original + "# local edit\n"
	if err := os.WriteFile(cfgPath, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(checkout, "notes.txt"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Nothing new: the edit is reported, no error.
	st, changed, err := g.Fetch(t.Context(), dir, ref)
	if err != nil || changed || !slices.Equal(st.LocalChanges, []string{"config.yml", "notes.txt"}) {
		t.Errorf("Fetch = %+v, %v, %v; want local changes config.yml, notes.txt reported", st, changed, err)
	}

	r.Write("config.yml", []byte(gitNetConfig("testnet", "a", "b")))
	next := r.Commit("add b")
	r.Push()
	st, changed, err = g.Fetch(t.Context(), dir, ref)
	var lce *LocalChangesError
	if !errors.As(err, &lce) || !slices.Equal(lce.Files, []string{"config.yml"}) || lce.Commit != next {
		t.Fatalf("Fetch with an edited config.yml = %v; want *LocalChangesError for config.yml, commit %s", err, next)
	}
	if changed || !strings.Contains(err.Error(), "config.yml") {
		t.Errorf("Fetch = changed %v, %q; want unchanged and the file named", changed, err)
	}
	if got := gitReadFile(t, cfgPath); got != edited {
		t.Errorf("local edit destroyed: config.yml = %q", got)
	}

	// An untracked file the new commit would overwrite blocks too.
	if err := os.WriteFile(cfgPath, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(checkout, "pubkeys"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(checkout, "pubkeys/b.pub"), []byte("my b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.Write("pubkeys/b.pub", []byte(gitTestKey(t)))
	next = r.Commit("b's key")
	r.Push()
	_, _, err = g.Fetch(t.Context(), dir, ref)
	if !errors.As(err, &lce) || !slices.Equal(lce.Files, []string{"pubkeys/b.pub"}) {
		t.Fatalf("Fetch with an untracked pubkeys/b.pub = %v; want *LocalChangesError for it", err)
	}
	if got := gitReadFile(t, filepath.Join(checkout, "pubkeys/b.pub")); got != "my b\n" {
		t.Errorf("untracked file destroyed: %q", got)
	}

	// Once the user moves it away, the commit applies; other untracked
	// files survive.
	if err := os.Remove(filepath.Join(checkout, "pubkeys/b.pub")); err != nil {
		t.Fatal(err)
	}
	st, changed, err = g.Fetch(t.Context(), dir, ref)
	if err != nil || !changed || st.Commit != next {
		t.Fatalf("Fetch after reverting = %+v, %v, %v; want %s applied", st, changed, err, next)
	}
	if got := gitReadFile(t, filepath.Join(checkout, "notes.txt")); got != "mine\n" {
		t.Errorf("untracked notes.txt = %q; want it kept", got)
	}
	if !slices.Equal(st.LocalChanges, []string{"notes.txt"}) {
		t.Errorf("LocalChanges = %v; want [notes.txt]", st.LocalChanges)
	}
}

func TestGitExistingDirectoryIsNeverReplaced(t *testing.T) {
	r, _ := seededRemote(t)

	t.Run("not a checkout", func(t *testing.T) {
		dir := t.TempDir()
		local := filepath.Join(NetworkDir(dir, "net"), "config.yml")
		if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(local, []byte("mine\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		g := newGitTestSync()
		if _, err := g.Ensure(t.Context(), dir, gitTestRef(r.Path)); !errors.Is(err, ErrNotGitCheckout) {
			t.Errorf("Ensure over a plain directory = %v; want ErrNotGitCheckout", err)
		}
		if _, _, err := g.Fetch(t.Context(), dir, gitTestRef(r.Path)); !errors.Is(err, ErrNotGitCheckout) {
			t.Errorf("Fetch over a plain directory = %v; want ErrNotGitCheckout", err)
		}
		if got := gitReadFile(t, local); got != "mine\n" {
			t.Errorf("config.yml = %q; want it untouched", got)
		}
	})

	t.Run("other repository", func(t *testing.T) {
		dir := t.TempDir()
		g := newGitTestSync()
		if _, err := g.Ensure(t.Context(), dir, gitTestRef(r.Path)); err != nil {
			t.Fatal(err)
		}
		other, _ := seededRemote(t)
		if _, _, err := g.Fetch(t.Context(), dir, gitTestRef(other.Path)); !errors.Is(err, ErrOtherRepository) {
			t.Errorf("Fetch with another git_repo = %v; want ErrOtherRepository", err)
		}
	})

	t.Run("empty directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.MkdirAll(NetworkDir(dir, "net"), 0o755); err != nil {
			t.Fatal(err)
		}
		if _, err := newGitTestSync().Ensure(t.Context(), dir, gitTestRef(r.Path)); err != nil {
			t.Errorf("Ensure into an empty directory = %v; want a clone", err)
		}
	})

	t.Run("not git mode", func(t *testing.T) {
		ref := gitTestRef(r.Path)
		ref.ConfigType = ConfigLocal
		if _, err := newGitTestSync().Ensure(t.Context(), t.TempDir(), ref); !errors.Is(err, ErrNotGitMode) {
			t.Errorf("Ensure of a local network = %v; want ErrNotGitMode", err)
		}
	})
}

func TestGitConcurrentFetchesAreSerialised(t *testing.T) {
	r, _ := seededRemote(t)
	dir := t.TempDir()
	ref := gitTestRef(r.Path)
	g := newGitTestSync()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, _, errs[i] = g.Fetch(t.Context(), dir, ref) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Fetch #%d: %v", i, err)
		}
	}
	gitNoCloneLeftovers(t, dir)
}

func TestGitCredentialsNeverInErrors(t *testing.T) {
	const urlSecret, envSecret = "url-secret-tok", "env-secret-tok"
	g := NewGitSync(GitSyncOptions{Getenv: func(k string) string {
		if k == "MESHMON_GIT_TOKEN" {
			return envSecret
		}
		return ""
	}})
	cases := []struct {
		name, repo, env string
	}{
		{"password in URL", "https://user:" + urlSecret + "@127.0.0.1:1/x.git", ""},
		{"token as URL user", "https://" + urlSecret + "@127.0.0.1:1/x.git", ""},
		{"token from env", "https://127.0.0.1:1/x.git", "MESHMON_GIT_TOKEN"},
		{"both", "https://user:" + urlSecret + "@127.0.0.1:1/x.git", "MESHMON_GIT_TOKEN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref := gitTestRef(tc.repo)
			ref.GitTokenEnv = tc.env
			dir := t.TempDir()
			_, err := g.Ensure(t.Context(), dir, ref)
			if err == nil {
				t.Fatal("Ensure of an unreachable https remote succeeded")
			}
			msg := err.Error()
			for _, s := range []string{urlSecret, envSecret, "user:"} {
				if strings.Contains(msg, s) {
					t.Errorf("error %q contains %q", msg, s)
				}
			}
			if !strings.Contains(msg, "127.0.0.1:1/x.git") {
				t.Errorf("error %q does not name the repository", msg)
			}
			_, _, err = g.Fetch(t.Context(), dir, ref)
			if err == nil || strings.Contains(err.Error(), urlSecret) || strings.Contains(err.Error(), envSecret) {
				t.Errorf("Fetch error %v: want an error without credentials", err)
			}
		})
	}

	t.Run("unset token variable", func(t *testing.T) {
		ref := gitTestRef("https://127.0.0.1:1/x.git")
		ref.GitTokenEnv = "MESHMON_UNSET"
		_, err := g.Ensure(t.Context(), t.TempDir(), ref)
		if !errors.Is(err, ErrGitTokenUnset) || !strings.Contains(err.Error(), "MESHMON_UNSET") {
			t.Errorf("Ensure = %v; want ErrGitTokenUnset naming the variable", err)
		}
	})

	for _, tc := range []struct{ in, want string }{
		{"https://user:pw@host/x.git", "https://host/x.git"},
		{"https://tok@host/x.git", "https://host/x.git"},
		{"ssh://git:pw@host/x.git", "ssh://git@host/x.git"},
		{"ssh://git@host/x.git", "ssh://git@host/x.git"},
		{"git@host:x.git", "git@host:x.git"},
		{"/srv/x.git", "/srv/x.git"},
	} {
		if got := RedactGitURL(tc.in); got != tc.want {
			t.Errorf("RedactGitURL(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// gitHTTPServer serves the repositories under root over git's smart HTTP
// protocol (fetch only), requiring basic auth with password token.
func gitHTTPServer(t *testing.T, root, token string) *httptest.Server {
	t.Helper()
	srv := server.NewServer(server.NewFilesystemLoader(osfs.New(root)))
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, pw, ok := req.BasicAuth(); !ok || pw != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		repo, isRefs := strings.CutSuffix(req.URL.Path, "/info/refs")
		if !isRefs {
			var ok bool
			if repo, ok = strings.CutSuffix(req.URL.Path, "/git-upload-pack"); !ok {
				http.NotFound(w, req)
				return
			}
		}
		sess, err := srv.NewUploadPackSession(&transport.Endpoint{Protocol: "http", Path: repo}, nil)
		if err != nil {
			http.NotFound(w, req)
			return
		}
		defer sess.Close()
		if isRefs {
			ar, err := sess.AdvertisedReferencesContext(req.Context())
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			ar.Prefix = [][]byte{[]byte("# service=git-upload-pack"), pktline.Flush}
			w.Header().Set("Content-Type", "application/x-git-upload-pack-advertisement")
			ar.Encode(w)
			return
		}
		upReq := packp.NewUploadPackRequest()
		if err := upReq.Decode(req.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := sess.UploadPack(req.Context(), upReq)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer resp.Close()
		w.Header().Set("Content-Type", "application/x-git-upload-pack-result")
		resp.Encode(w)
	})
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func TestGitHTTPTokenAuth(t *testing.T) {
	const token = "s3cret-token-value"
	r, first := seededRemote(t)
	s := gitHTTPServer(t, filepath.Dir(r.Path), token)
	env := map[string]string{"MESHMON_GIT_TOKEN": token}
	g := NewGitSync(GitSyncOptions{Getenv: func(k string) string { return env[k] }})
	ref := gitTestRef(s.URL + "/remote.git")
	ref.GitTokenEnv = "MESHMON_GIT_TOKEN"
	dir := t.TempDir()

	st, err := g.Ensure(t.Context(), dir, ref)
	if err != nil || st.Commit != first || st.Ref != "refs/heads/trunk" {
		t.Fatalf("Ensure over http with a token = %+v, %v; want trunk at %s", st, err, first)
	}
	checkout := NetworkDir(dir, "net")
	gitConfig := gitReadFile(t, filepath.Join(checkout, ".git", "config"))
	if strings.Contains(gitConfig, token) {
		t.Errorf(".git/config holds the token:\n%s", gitConfig)
	}

	r.Write("config.yml", []byte(gitNetConfig("testnet", "a", "b")))
	next := r.Commit("add b")
	r.Push()
	if st, changed, err := g.Fetch(t.Context(), dir, ref); err != nil || !changed || st.Commit != next {
		t.Fatalf("Fetch over http = %+v, %v, %v; want %s", st, changed, err, next)
	}

	// A refused token keeps the checkout and never shows the token.
	before := gitSnapshot(t, checkout)
	env["MESHMON_GIT_TOKEN"] = "wrong-" + token
	st, changed, err := g.Fetch(t.Context(), dir, ref)
	if !errors.Is(err, transport.ErrAuthenticationRequired) && !errors.Is(err, transport.ErrAuthorizationFailed) {
		t.Errorf("Fetch with a wrong token = %v; want an authentication error", err)
	}
	if err != nil && strings.Contains(err.Error(), token) {
		t.Errorf("error %q contains the token", err)
	}
	if changed || st.Commit != next {
		t.Errorf("Fetch = %+v, %v; want the checkout kept at %s", st, changed, next)
	}
	if after := gitSnapshot(t, checkout); !gitEqualMaps(before, after) {
		t.Errorf("checkout changed by a refused fetch")
	}
}

func TestGitSSHAuth(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "deploy_key"), pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	locked, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "locked_key"), pem.EncodeToMemory(locked), 0o600); err != nil {
		t.Fatal(err)
	}
	// No system known_hosts: SSH_KNOWN_HOSTS names a file that does not exist.
	g := NewGitSync(GitSyncOptions{Getenv: func(k string) string {
		if k == "SSH_KNOWN_HOSTS" {
			return filepath.Join(dir, "absent")
		}
		return ""
	}})
	ref := gitTestRef("git@git.example.com:org/net.git")
	ref.GitSSHKey = "deploy_key"

	if _, err := g.remote(dir, ref); !errors.Is(err, ErrNoKnownHosts) || !strings.Contains(err.Error(), filepath.Join(dir, KnownHostsPath)) {
		t.Errorf("remote without known_hosts = %v; want ErrNoKnownHosts naming %s", err, KnownHostsPath)
	}
	hostKey, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	kh := filepath.Join(dir, KnownHostsPath)
	if err := os.MkdirAll(filepath.Dir(kh), 0o700); err != nil {
		t.Fatal(err)
	}
	line := "git.example.com " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey))) + "\n"
	if err := os.WriteFile(kh, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	rem, err := g.remote(dir, ref)
	if err != nil {
		t.Fatalf("remote with a relative key and known_hosts: %v", err)
	}
	auth, ok := rem.auth.(*sshKeyAuth)
	if !ok || auth.user != "git" || auth.hostPort != "git.example.com:22" {
		t.Fatalf("auth = %#v; want ssh key auth for git@git.example.com:22", rem.auth)
	}
	cfg, err := auth.ClientConfig()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(cfg.HostKeyAlgorithms, ssh.KeyAlgoED25519) || cfg.HostKeyCallback == nil {
		t.Errorf("client config algorithms %v; want the known host's ed25519", cfg.HostKeyAlgorithms)
	}
	addr := &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 22}
	if err := cfg.HostKeyCallback("git.example.com:22", addr, hostKey); err != nil {
		t.Errorf("known host key refused: %v", err)
	}
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	other, _ := ssh.NewPublicKey(otherPub)
	if err := cfg.HostKeyCallback("git.example.com:22", addr, other); err == nil {
		t.Error("an unknown host key was accepted")
	}

	ref.GitSSHKey = "locked_key"
	if _, err := g.remote(dir, ref); err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("remote with a passphrase key = %v; want it refused", err)
	}
	ref.GitSSHKey = "missing_key"
	if _, err := g.remote(dir, ref); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("remote with a missing key = %v; want ErrNotExist", err)
	}
}

func TestGitNodeConfFields(t *testing.T) {
	cases := []struct {
		name, entry string
		want        string // "" for valid, else a substring of the error
	}{
		{"token https", "git_repo: https://h/x.git\n    git_token_env: GIT_TOKEN", ""},
		{"token loopback http", "git_repo: http://127.0.0.1:8080/x.git\n    git_token_env: GIT_TOKEN", ""},
		{"token plain http", "git_repo: http://h/x.git\n    git_token_env: GIT_TOKEN", "networks[0].git_token_env: would send the token unencrypted"},
		{"token ssh", "git_repo: git@h:x.git\n    git_token_env: GIT_TOKEN", "networks[0].git_token_env: only used with an https:// git_repo"},
		{"token bad name", "git_repo: https://h/x.git\n    git_token_env: 1-TOKEN", `"1-TOKEN" is not an environment variable name`},
		{"ssh key scp", "git_repo: git@h:org/x.git\n    git_ssh_key: keys/deploy", ""},
		{"ssh key url", "git_repo: ssh://git@h/org/x.git\n    git_ssh_key: /abs/deploy", ""},
		{"ssh key https", "git_repo: https://h/x.git\n    git_ssh_key: keys/deploy", "networks[0].git_ssh_key: only used with an ssh git_repo"},
		{"ssh key empty", "git_repo: git@h:x.git\n    git_ssh_key: \"\"", "networks[0].git_ssh_key: must not be empty"},
		{"local path", "git_repo: /srv/git/x.git", ""},
		{"unsupported protocol", "git_repo: git://h/x.git", `protocol "git" is not supported`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := "networks:\n  - directory: net\n    node_id: a\n    config_type: git\n    " + tc.entry + "\n"
			nc, err := ParseNodeConf([]byte(data), "nodeconf.yml")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("ParseNodeConf = %v; want valid", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("ParseNodeConf = %v; want %q", err, tc.want)
			}
			if tc.want == "" && err == nil && strings.Contains(tc.entry, "git_ssh_key") && nc.Networks[0].GitSSHKey == "" {
				t.Errorf("GitSSHKey not decoded")
			}
		})
	}
	local := "networks:\n  - directory: net\n    node_id: a\n    git_token_env: T\n    git_ssh_key: k\n"
	_, err := ParseNodeConf([]byte(local), "nodeconf.yml")
	for _, want := range []string{"nodeconf.yml:4: networks[0].git_token_env: only used with config_type: git", "nodeconf.yml:5: networks[0].git_ssh_key: only used with config_type: git"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseNodeConf(local with git fields) = %v; want %q", err, want)
		}
	}
}

func TestGitCloneRefusesInvalidFirstCommit(t *testing.T) {
	r := gittest.NewRemote(t, "", "trunk")
	r.Write("README.md", []byte("no config yet\n"))
	r.Write("pubkeys/a.pub", []byte(gitTestKey(t)))
	empty := r.Commit("keys only")
	r.Push()

	dir := t.TempDir()
	ref := gitTestRef(r.Path)
	g := newGitTestSync()
	_, err := g.Ensure(t.Context(), dir, ref)
	var ice *InvalidCommitError
	if !errors.As(err, &ice) || ice.Commit != empty {
		t.Fatalf("Ensure of a repo without config.yml = %v; want *InvalidCommitError for %s", err, empty)
	}
	if ps := Problems(err); len(ps) != 1 || ps[0].File != "config.yml" || !strings.Contains(ps[0].Msg, "missing") {
		t.Errorf("problems = %v; want config.yml missing", ps)
	}
	if _, err := os.Stat(NetworkDir(dir, "net")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("network dir after a refused clone: %v; want none", err)
	}
	gitNoCloneLeftovers(t, dir)

	// The periodic Fetch retries the clone.
	r.Write("config.yml", []byte(gitNetConfig("testnet", "a")))
	good := r.Commit("config")
	r.Push()
	st, changed, err := g.Fetch(t.Context(), dir, ref)
	if err != nil || !changed || st.Commit != good || st.FetchedAt.IsZero() {
		t.Fatalf("Fetch without a checkout = %+v, %v, %v; want a clone of %s", st, changed, err, good)
	}
	if _, err := LoadNetwork(dir, ref); err != nil {
		t.Errorf("LoadNetwork after the clone: %v", err)
	}
}

// TestGitMalformedPubkeyMarksNoKey: a commit whose only problem is one
// member's malformed .pub is applied, and that member is "no key", exactly
// as the same files in a local network; it does not block every later
// commit on every node.
func TestGitMalformedPubkeyMarksNoKey(t *testing.T) {
	c := newGitCheckout(t)
	r, dir, ref, g := c.remote, c.dir, c.ref, c.sync
	r.Write("config.yml", []byte(gitNetConfig("testnet", "a", "b", "c")))
	r.Write("pubkeys/b.pub", []byte(gitTestKey(t)))
	r.Write("pubkeys/c.pub", []byte("not a key\n"))
	next := r.Commit("c with a broken key")
	r.Push()
	st, changed, err := g.Fetch(t.Context(), dir, ref)
	if err != nil || !changed || st.Commit != next {
		t.Fatalf("Fetch = %+v, %v, %v; want commit %s applied", st, changed, err, next)
	}
	gitNW, err := LoadNetwork(dir, ref)
	if err != nil {
		t.Fatalf("LoadNetwork(git) = %v; want it to load", err)
	}
	if gitNW.Commit != next {
		t.Errorf("LoadNetwork(git).Commit = %s; want %s", gitNW.Commit, next)
	}

	// The same files as a local network.
	local := NetworkRef{Directory: "copy", NodeID: "a", ConfigType: ConfigLocal}
	files := map[string]string{}
	for _, name := range []string{"config.yml", "pubkeys/a.pub", "pubkeys/b.pub", "pubkeys/c.pub"} {
		files["networks/copy/"+name] = gitReadFile(t, filepath.Join(NetworkDir(dir, ref.Directory), name))
	}
	writeTree(t, dir, files)
	localNW, err := LoadNetwork(dir, local)
	if err != nil {
		t.Fatalf("LoadNetwork(local) = %v; want it to load", err)
	}
	for _, nw := range []*Network{gitNW, localNW} {
		if !errors.Is(nw.KeyErrors["c"], ErrKeyFormat) || len(nw.KeyErrors) != 1 {
			t.Errorf("%s: KeyErrors = %v; want c marked no key (ErrKeyFormat), nothing else", nw.Ref.ConfigType, nw.KeyErrors)
		}
		if nw.Pubkeys["a"] == nil || nw.Pubkeys["b"] == nil {
			t.Errorf("%s: Pubkeys = %v; want a and b", nw.Ref.ConfigType, nw.Pubkeys)
		}
	}
	if g, l := gitNW.KeyErrors["c"].Error(), localNW.KeyErrors["c"].Error(); g != l {
		t.Errorf("KeyErrors[c]: git %q, local %q; want the same", g, l)
	}
}

// TestGitDuplicateKeyCommitRefused: a commit where two members share one
// public key is refused, naming both.
func TestGitDuplicateKeyCommitRefused(t *testing.T) {
	c := newGitCheckout(t)
	r, dir, ref, g := c.remote, c.dir, c.ref, c.sync
	good := c.seeded
	r.Write("config.yml", []byte(gitNetConfig("testnet", "a", "b", "c")))
	r.Write("pubkeys/b.pub", []byte(gitTestKey(t)))
	r.Write("pubkeys/c.pub", []byte(gitReadFile(t, filepath.Join(NetworkDir(dir, ref.Directory), "pubkeys", "a.pub"))))
	r.Commit("c copied a's key")
	r.Push()
	st, changed, err := g.Fetch(t.Context(), dir, ref)
	var ice *InvalidCommitError
	if !errors.As(err, &ice) || changed || st.Commit != good {
		t.Fatalf("Fetch = %+v, %v, %v; want *InvalidCommitError and the checkout kept at %s", st, changed, err, good)
	}
	if msg := err.Error(); !strings.Contains(msg, "members a and c have the same public key") {
		t.Errorf("error %q; want it to name a and c", msg)
	}
}

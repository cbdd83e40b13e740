package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/meshmon/meshmon/configsync"
)

// watchLoop reloads the config when nodeconf or a local network's files
// change. It watches directories, not files, so editors that write a new
// file and rename it over the old one are seen. Git checkouts are not
// watched: they change only through the git loop.
func (n *Node) watchLoop(ctx context.Context) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		n.log.Warn("config files are not watched; restart to apply changes", "err", err)
		return
	}
	defer w.Close()
	watched := map[string]bool{}
	rewatch := func() {
		want := map[string]bool{n.opts.ConfigDir: true, filepath.Join(n.opts.ConfigDir, "networks"): true}
		n.mu.Lock()
		cfg := n.cfg
		n.mu.Unlock()
		if cfg != nil {
			for _, ref := range cfg.Node.Networks {
				if ref.ConfigType == configsync.ConfigGit {
					continue
				}
				d := configsync.NetworkDir(n.opts.ConfigDir, ref.Directory)
				want[d], want[filepath.Join(d, "pubkeys")] = true, true
			}
		}
		for d := range watched {
			if !want[d] {
				_ = w.Remove(d)
				delete(watched, d)
			}
		}
		for d := range want {
			if watched[d] {
				continue
			}
			if _, err := os.Stat(d); err != nil {
				continue
			}
			if err := w.Add(d); err == nil {
				watched[d] = true
			}
		}
	}
	rewatch()
	var timer *time.Timer
	var fire <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if !n.relevant(ev.Name) {
				continue
			}
			if timer == nil {
				timer = time.NewTimer(n.def.WatchDebounce)
			} else {
				timer.Reset(n.def.WatchDebounce)
			}
			fire = timer.C
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			n.log.Warn("config watcher", "err", err)
		case <-fire:
			fire = nil
			n.log.Info("config files changed; reloading")
			// Through the reload loop, so reloads never overlap.
			n.Reload()
		case <-n.rewatch:
			rewatch()
		}
	}
}

// relevant tells whether a change to path can change the config: not our
// key files, temporary files or git internals.
func (n *Node) relevant(path string) bool {
	rel, err := filepath.Rel(n.opts.ConfigDir, path)
	if err != nil {
		return false
	}
	parts := strings.Split(filepath.ToSlash(rel), "/")
	for _, p := range parts {
		if strings.HasPrefix(p, ".") {
			// .private_keys, .public_keys, .git, editors' and our own
			// temporary files, clones in progress.
			return false
		}
	}
	base := parts[len(parts)-1]
	if strings.HasSuffix(base, "~") || strings.HasSuffix(base, ".swp") {
		return false
	}
	if len(parts) == 1 {
		return base == n.opts.ConfigFile || base == "networks"
	}
	if parts[0] != "networks" {
		return false
	}
	if len(parts) >= 2 {
		n.mu.Lock()
		cfg := n.cfg
		n.mu.Unlock()
		if cfg != nil {
			for _, ref := range cfg.Node.Networks {
				if ref.Directory == parts[1] && ref.ConfigType == configsync.ConfigGit {
					return false
				}
			}
		}
	}
	return true
}

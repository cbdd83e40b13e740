package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meshmon/meshmon/configsync"
	"github.com/meshmon/meshmon/health"
)

// gitStatus is what the node knows of one git network's repository.
type gitStatus struct {
	state     configsync.GitState
	syncedAt  time.Time
	lastError string
	next      time.Time
	// local is state.LocalChanges as last reported, joined by ", ".
	local string
}

// gitLoop fetches every git network at its git_interval, and reloads the
// config when a fetch changed a checkout or cloned one for the first time.
func (n *Node) gitLoop(ctx context.Context) {
	t := time.NewTicker(n.def.GitTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			n.mu.Lock()
			cfg := n.cfg
			n.mu.Unlock()
			if cfg == nil {
				continue
			}
			reload := false
			for _, ref := range cfg.Node.Networks {
				if ref.ConfigType != configsync.ConfigGit {
					continue
				}
				n.mu.Lock()
				st := n.gits[ref.Directory]
				due := st == nil || !now.Before(st.next)
				n.mu.Unlock()
				if !due {
					continue
				}
				if n.fetch(ctx, ref, cfg) {
					reload = true
				}
			}
			if reload && ctx.Err() == nil {
				// Through the reload loop, so that this reload never
				// runs alongside another one.
				n.Reload()
			}
		}
	}
}

// fetch fetches one git network and reports whether the config must be
// reloaded.
func (n *Node) fetch(ctx context.Context, ref configsync.NetworkRef, cfg *configsync.Config) bool {
	fctx, cancel := context.WithTimeout(ctx, n.def.CloneTimeout)
	defer cancel()
	st, changed, err := n.git.Fetch(fctx, n.opts.ConfigDir, ref)
	if ctx.Err() != nil {
		return false
	}
	n.gitResult(ref, st, err == nil, err)
	if err != nil {
		return false
	}
	running := false
	for _, nw := range cfg.Networks {
		if nw.Ref.Directory == ref.Directory {
			running = true
		}
	}
	return changed || !running
}

// gitResult records a clone or fetch outcome, and raises an event when the
// outcome is new (a repeated failure is one event, not one per interval).
func (n *Node) gitResult(ref configsync.NetworkRef, st configsync.GitState, ok bool, err error) {
	interval := time.Duration(ref.GitInterval)
	if interval <= 0 {
		interval = time.Duration(configsync.DefaultGitInterval)
	}
	n.mu.Lock()
	gs := n.gits[ref.Directory]
	if gs == nil {
		gs = &gitStatus{}
		n.gits[ref.Directory] = gs
	}
	prevCommit, prevErr := gs.state.Commit, gs.lastError
	local := strings.Join(st.LocalChanges, ", ")
	newLocal := st.Commit != "" && local != "" && local != gs.local
	if st.Commit != "" {
		gs.state = st
		gs.local = local
	}
	// Events name the network by its network_id, as every other event
	// does; before the first successful load only the directory is known.
	network := ref.Directory
	if r := n.nets[ref.Directory]; r != nil {
		network = r.cfg.Config.NetworkID
	} else if n.cfg != nil {
		for _, nw := range n.cfg.Networks {
			if nw.Ref.Directory == ref.Directory {
				network = nw.Config.NetworkID
			}
		}
	}
	gs.next = time.Now().Add(interval)
	msg := ""
	if err != nil {
		msg = err.Error()
	} else if ok {
		gs.syncedAt = time.Now()
	}
	gs.lastError = msg
	n.mu.Unlock()

	var localErr *configsync.LocalChangesError
	blocked := errors.As(err, &localErr)
	switch {
	case err != nil && msg != prevErr:
		var invalid *configsync.InvalidCommitError
		// Without a checkout (the first clone failed) there is no config
		// to keep running: the network waits for a clone.
		cloned := st.Commit != "" || prevCommit != ""
		severity, text := health.SeverityError, "git sync failed, the checkout is kept: "+msg
		if !cloned {
			text = fmt.Sprintf("cannot clone the repository, the network is not joined (retrying every %s): %s", interval, msg)
		}
		switch {
		case errors.As(err, &invalid) && cloned:
			text = fmt.Sprintf("commit %s refused, the last good config keeps running: %s", short(invalid.Commit), problemList(err))
		case errors.As(err, &invalid):
			text = fmt.Sprintf("commit %s refused, the network is not joined until a commit is valid: %s", short(invalid.Commit), problemList(err))
		case blocked:
			severity = health.SeverityWarning
			text = fmt.Sprintf("local changes in the git checkout block updates (revert them to resume): %s", strings.Join(localErr.Files, ", "))
		}
		n.events.Add(health.Event{Network: network, Kind: "git", Severity: severity, Message: text})
		n.log.Error("git sync", "network", network, "err", text)
	case err == nil && st.Commit != "" && st.Commit != prevCommit:
		text := "running config of commit " + short(st.Commit)
		if prevCommit != "" {
			text = fmt.Sprintf("applied commit %s (was %s)", short(st.Commit), short(prevCommit))
		}
		n.events.Add(health.Event{Network: network, Kind: "git", Severity: health.SeverityInfo, Message: text})
		n.log.Info("git sync", "network", network, "commit", st.Commit, "ref", st.Ref)
	case err == nil && prevErr != "":
		n.events.Add(health.Event{Network: network, Kind: "git", Severity: health.SeverityInfo, Message: "git sync works again"})
	}
	if newLocal && !blocked {
		// Blocking changes were reported above; these do not stop the
		// sync yet, but they are not the repository's config, and the
		// next commit that touches them will be held back.
		n.events.Add(health.Event{Network: network, Kind: "git", Severity: health.SeverityWarning,
			Message: "the git checkout has local changes that are not in the repository (revert them, or make them in the repository): " + local})
		n.log.Warn("git checkout has local changes", "network", network, "files", st.LocalChanges)
	}
}

func short(commit string) string {
	if len(commit) > 10 {
		return commit[:10]
	}
	return commit
}

func problemList(err error) string {
	ps := configsync.Problems(err)
	if len(ps) == 0 {
		return err.Error()
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Error()
	}
	return strings.Join(parts, "; ")
}

// source describes where a running network's config comes from.
func (n *Node) sourceLocked(r *netRuntime) *health.ConfigSource {
	src := &health.ConfigSource{
		Type:           r.cfg.Ref.ConfigType,
		Directory:      r.cfg.Ref.Directory,
		HeartbeatMS:    time.Duration(r.cfg.Config.Timing.Heartbeat).Milliseconds(),
		SuspectAfterMS: time.Duration(r.cfg.Config.Timing.SuspectAfter).Milliseconds(),
	}
	if gs := n.gits[r.cfg.Ref.Directory]; gs != nil {
		src.Commit, src.Ref, src.LastError = gs.state.Commit, gs.state.Ref, gs.lastError
		if !gs.syncedAt.IsZero() {
			t := gs.syncedAt
			src.SyncedAt = &t
		}
	}
	if src.LastError == "" && !n.reload.OK {
		src.LastError = n.reload.LastError
	}
	return src
}

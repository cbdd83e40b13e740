//go:build linux

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// stepDown leaves root for the user the config dir calls for (stepdown.go
// has the rule), inside the image only. configFile is the nodeconf file's
// name inside configDir. It does nothing unless the effective uid is 0, and
// outside the image (MESHMON_STEP_DOWN unset) it only logs that a service
// user is recommended.
func stepDown(log *slog.Logger, configDir, configFile string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	inImage, err := stepDownEnabled(os.Getenv)
	if err != nil {
		return err
	}
	if !inImage {
		log.Warn("running as root: nothing changes owner, and the files this node writes belong to root; "+
			"a service user is recommended (useradd --system meshmon; chown -R meshmon the config dir; run as it)",
			"config_dir", configDir)
		return nil
	}
	keep, err := runAsRoot(os.Getenv)
	if err != nil {
		return err
	}
	if keep {
		log.Warn("running as root because "+runAsRootEnv+" is set: the files this node writes belong to root",
			"config_dir", configDir)
		return nil
	}
	uid, gid, stay, err := configDirUser(log, configDir, configFile)
	if err != nil {
		return err
	}
	if stay {
		return nil
	}
	if err := become(uid, gid); err != nil {
		return fmt.Errorf("cannot step down from root to uid %d, gid %d: %w\n"+
			"this needs CAP_SETUID and CAP_SETGID; run as that user from the start "+
			"(docker run --user %d:%d), or set %s=1 to stay root", uid, gid, err, uid, gid, runAsRootEnv)
	}
	// As gosu and runc do: HOME is the new user's (git over ssh reads
	// ~/.ssh/known_hosts), "/" for a uid /etc/passwd does not know.
	home := "/"
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.HomeDir != "" {
		home = u.HomeDir
	}
	_ = os.Setenv("HOME", home)
	// faccessat checks with the real uid, now the new one.
	if err := syscall.Access(configDir, 0x4|0x1); err != nil { // R_OK|X_OK
		return fmt.Errorf("stepped down to uid %d, which cannot open the config dir %s: %w\n"+
			"every directory above it must be searchable by that user (chmod o+x), "+
			"or run as a user that can (docker run --user), or set %s=1 to stay root",
			uid, configDir, err, runAsRootEnv)
	}
	return nil
}

// configDirUser picks the uid and gid for configDir, creating it or giving
// it to the image's user when it belongs to root; stay means keep uid 0 of
// a user namespace whose root is an ordinary user outside.
func configDirUser(log *slog.Logger, dir, configFile string) (uid, gid int, stay bool, err error) {
	nsOwner, inNS := unprivilegedRoot()
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return 0, 0, false, fmt.Errorf("config dir: %w", err)
		}
		if inNS {
			log.Info("staying uid 0 of this user namespace: it is an ordinary user outside, who owns the config dir it created",
				"config_dir", dir, "outside_uid", nsOwner)
			return 0, 0, true, nil
		}
		if err := os.Chown(dir, imageUID, imageGID); err != nil {
			return 0, 0, false, fmt.Errorf("config dir: %w", err)
		}
		log.Info("created the config dir for the image's user meshmon and stepping down to it; "+
			"root can still read every file", "config_dir", dir, "uid", imageUID, "gid", imageGID)
		return imageUID, imageGID, false, nil
	case err != nil:
		return 0, 0, false, fmt.Errorf("config dir: %w", err)
	case !st.IsDir():
		return 0, 0, false, fmt.Errorf("config dir %s is not a directory", dir)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if sys.Uid != 0 {
		uid, gid = int(sys.Uid), int(sys.Gid)
		if gid == 0 {
			// Never keep root's group: take the owner's uid as gid, the
			// usual user private group.
			gid = uid
		}
		log.Info("stepping down from root to the owner of the config dir, so the files it writes are the owner's",
			"config_dir", dir, "uid", uid, "gid", gid)
		return uid, gid, false, nil
	}
	if inNS {
		log.Info("staying uid 0 of this user namespace: it is an ordinary user outside, who owns the config dir",
			"config_dir", dir, "outside_uid", nsOwner)
		return 0, 0, true, nil
	}
	if err := looksLikeConfigDir(dir, configFile); err != nil {
		return 0, 0, false, err
	}
	n, failed := chownTree(dir, imageUID, imageGID)
	log.Info("the config dir belongs to root: gave it to the image's user meshmon and stepping down to it; "+
		"root can still read every file (run with --user, or chown the dir, to choose the owner)",
		"config_dir", dir, "uid", imageUID, "gid", imageGID, "entries", n)
	for i, f := range failed {
		if i == 5 {
			log.Warn("more entries of the config dir could not be given to the image's user", "count", len(failed)-i)
			break
		}
		log.Warn("could not give an entry of the config dir to the image's user", "err", f)
	}
	return imageUID, imageGID, false, nil
}

// looksLikeConfigDir refuses to hand a root-owned directory to 10001
// unless it is empty or holds meshmon's files, so that a mistaken
// --config-dir such as / or /etc is left alone.
func looksLikeConfigDir(dir, configFile string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("config dir: %w", err)
	}
	if len(entries) == 0 {
		return nil
	}
	if configFile == "" {
		configFile = "nodeconf.yml"
	}
	for _, e := range entries {
		switch e.Name() {
		case configFile, ".private_keys", "networks":
			return nil
		}
	}
	return fmt.Errorf("the config dir %s belongs to root and holds no %s, .private_keys or networks: "+
		"not giving it to uid %d; check --config-dir, chown it to the user to run as, or set %s=1 to stay root",
		dir, configFile, imageUID, runAsRootEnv)
}

// chownTree gives dir and everything below it to uid:gid, without following
// symlinks (they are changed themselves). It returns how many entries it
// changed and what it could not change (a read-only mount, for one).
func chownTree(dir string, uid, gid int) (int, []error) {
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	n := 0
	var failed []error
	_ = filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			failed = append(failed, err)
			return nil
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			failed = append(failed, err)
			return nil
		}
		n++
		return nil
	})
	return n, failed
}

// unprivilegedRoot reports whether uid 0 here is another uid outside this
// user namespace (rootless Docker or Podman), and which.
func unprivilegedRoot() (uint64, bool) {
	data, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return 0, false
	}
	out, ok := rootMapsTo(string(data))
	return out, ok && out != 0
}

// become sets the supplementary groups, gid and uid of every thread, then
// checks that root cannot be had back.
func become(uid, gid int) error {
	if err := syscall.Setgroups([]int{}); err != nil {
		// A user namespace may deny setgroups; then there is nothing to drop.
		if d, _ := os.ReadFile("/proc/self/setgroups"); strings.TrimSpace(string(d)) != "deny" {
			return fmt.Errorf("setgroups: %w", err)
		}
	}
	if err := syscall.Setgid(gid); err != nil {
		return fmt.Errorf("setgid: %w", err)
	}
	if err := syscall.Setuid(uid); err != nil {
		return fmt.Errorf("setuid: %w", err)
	}
	return checkStepDown(uid, gid)
}

// checkStepDown verifies that the real, effective and saved ids are uid and
// gid, that no capability is left and that setuid(0) fails.
func checkStepDown(uid, gid int) error {
	if os.Geteuid() == 0 || os.Getuid() != uid || os.Geteuid() != uid || os.Getgid() != gid || os.Getegid() != gid {
		return fmt.Errorf("ids after the change: uid %d euid %d gid %d egid %d", os.Getuid(), os.Geteuid(), os.Getgid(), os.Getegid())
	}
	if status, err := os.ReadFile("/proc/self/status"); err == nil {
		for field, want := range map[string]string{"Uid": strconv.Itoa(uid), "Gid": strconv.Itoa(gid)} {
			ids, ok := procStatusIDs(string(status), field)
			if !ok || len(ids) != 4 {
				return fmt.Errorf("/proc/self/status: no %s line", field)
			}
			for _, id := range ids {
				if id != want {
					return fmt.Errorf("/proc/self/status %s: %v after the change; want %s everywhere", field, ids, want)
				}
			}
		}
		for _, field := range []string{"CapPrm", "CapEff"} {
			caps, ok := procStatusIDs(string(status), field)
			if ok && len(caps) == 1 {
				if v, err := strconv.ParseUint(caps[0], 16, 64); err == nil && v != 0 {
					return fmt.Errorf("/proc/self/status %s: %s after the change; want no capability", field, caps[0])
				}
			}
		}
	}
	if err := syscall.Setuid(0); err == nil {
		return errors.New("setuid(0) still succeeds after the change")
	}
	return nil
}

package main

// Stepping down from root, in the container image only.
//
// The Docker image starts as root, like the official postgres and redis
// images, so that the spec's quick start (`docker run -v ./config:/app/config
// meshmon:latest`, no --user) works with a ./config owned by the host user.
// The image opts in with MESHMON_STEP_DOWN=1 (its Dockerfile sets it). Then
// the commands that write the config dir (run, init, keys show) step down at
// once, before doing anything else, when the effective uid is 0 (Linux only;
// elsewhere stepDown does nothing):
//
//   - MESHMON_RUN_AS_ROOT=1: stay root, with a warning.
//   - The config dir belongs to a uid other than 0: become that uid and the
//     dir's gid (the uid, if the dir's group is 0), so every file the node
//     writes belongs to the dir's owner.
//   - The config dir belongs to root, or is missing (then it is created):
//     when uid 0 here is host root, give the dir and everything in it to
//     10001:10001 (the image's user meshmon) and become 10001:10001; root can
//     still read every file. When this process runs in a user namespace whose
//     uid 0 is an ordinary user outside (rootless Docker or Podman), that user
//     owns the dir, so stay uid 0 of the namespace: it has no privilege
//     outside, and stepping down would hand the user's dir to a subordinate
//     uid they cannot use.
//
// Outside the image (MESHMON_STEP_DOWN unset) root stays root and nothing
// changes owner or mode: on a host uid 10001 may be an unrelated user, and a
// program must never hand a user's secret key to another uid unasked. The
// log says once that a service user is recommended. `demo` never steps
// down: it writes only its own temporary dirs.
//
// The step down is setgroups([]), setgid, setuid (applied to every thread
// since Go 1.16), then checked: the real, effective and saved ids must all be
// the target's, setuid(0) must fail and no capability may be left. Any
// failure stops the command with an error that says what to do.

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

const (
	// stepDownEnv, set to 1 by the image's Dockerfile, turns the step down
	// on; unset (on a host), root stays root.
	stepDownEnv = "MESHMON_STEP_DOWN"
	// runAsRootEnv keeps root when set to 1 (or true), in the image too.
	runAsRootEnv = "MESHMON_RUN_AS_ROOT"
	// imageUID and imageGID are the image's user meshmon, taken when the
	// config dir belongs to root.
	imageUID = 10001
	imageGID = 10001
)

// stepDownBefore is the Before of the commands that write the config dir
// (init, keys show); runAction calls stepDown itself, as the default command
// has no Before of its own.
func stepDownBefore(c *cli.Context) error {
	log, err := newLogger(c.App.ErrWriter, c.String("log-level"))
	if err != nil {
		return err
	}
	return stepDown(log, c.String("config-dir"), c.String("config-file"))
}

// runAsRoot reads MESHMON_RUN_AS_ROOT: 1 or true keeps root; unset, empty,
// 0 or false steps down; anything else is an error rather than a guess.
func runAsRoot(getenv func(string) string) (bool, error) {
	return boolEnv(getenv, runAsRootEnv, "1 (stay root) or 0")
}

// stepDownEnabled reads MESHMON_STEP_DOWN: 1 or true (the image) steps
// down; unset, empty, 0 or false (a host) keeps root; anything else is an
// error.
func stepDownEnabled(getenv func(string) string) (bool, error) {
	return boolEnv(getenv, stepDownEnv, "1 (step down from root, as the image does) or 0")
}

// boolEnv parses a boolean environment variable, false when unset.
func boolEnv(getenv func(string) string, name, want string) (bool, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q: want %s", name, v, want)
	}
	return b, nil
}

// rootMapsTo reads a /proc/<pid>/uid_map and returns the uid outside the
// namespace that uid 0 inside maps to; ok is false when uid 0 is not mapped
// or the map cannot be parsed. The initial namespace maps 0 to 0.
func rootMapsTo(uidMap string) (outside uint64, ok bool) {
	for _, line := range strings.Split(uidMap, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			continue
		}
		in, err1 := strconv.ParseUint(f[0], 10, 32)
		out, err2 := strconv.ParseUint(f[1], 10, 32)
		n, err3 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		if in == 0 && n > 0 {
			return out, true
		}
	}
	return 0, false
}

// procStatusIDs returns the four ids (real, effective, saved, filesystem) of
// a "Uid:" or "Gid:" line of /proc/<pid>/status.
func procStatusIDs(status, field string) ([]string, bool) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.Fields(v), true
		}
	}
	return nil, false
}

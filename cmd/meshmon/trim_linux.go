package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// trimExecutablePages drops this process's page-table entries for the
// read-only, private mappings of its own executable (code and read-only
// data) and marks them random access, and returns the file-backed RSS
// before and after, in bytes.
//
// Those pages are clean copies of the file: MADV_DONTNEED on them discards
// nothing, and the next access maps the page again from the page cache.
// The kernel maps up to 64 KiB around each page a process touches
// (fault-around), and start-up touches code it never runs again, so most
// of a Go binary's text and tables stay mapped and counted in RSS although
// the node does not use them (docs/performance.md). MADV_RANDOM turns
// fault-around off for these mappings, so what comes back is what runs.
// Writable mappings (data, bss) are never touched.
func trimExecutablePages() (before, after int64, err error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, 0, err
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return 0, 0, err
	}
	ranges, err := readOnlyMappings(maps, exe)
	if err != nil {
		return 0, 0, err
	}
	if len(ranges) == 0 {
		return 0, 0, fmt.Errorf("no read-only mapping of %s in /proc/self/maps", exe)
	}
	before, err = fileRSS()
	if err != nil {
		return 0, 0, err
	}
	for _, r := range ranges {
		for _, advice := range []uintptr{syscall.MADV_RANDOM, syscall.MADV_DONTNEED} {
			if _, _, e := syscall.Syscall(syscall.SYS_MADVISE, r[0], r[1]-r[0], advice); e != 0 {
				return before, before, fmt.Errorf("madvise %#x-%#x: %w", r[0], r[1], e)
			}
		}
	}
	after, err = fileRSS()
	return before, after, err
}

// readOnlyMappings returns the [start, end) of every private mapping of
// path in maps (the text of /proc/<pid>/maps) that is not writable.
func readOnlyMappings(maps []byte, path string) ([][2]uintptr, error) {
	var out [][2]uintptr
	sc := bufio.NewScanner(bytes.NewReader(maps))
	for sc.Scan() {
		// 00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon
		f := strings.Fields(sc.Text())
		if len(f) < 6 || strings.Join(f[5:], " ") != path {
			continue
		}
		perms := f[1]
		if len(perms) != 4 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("/proc/self/maps: bad range %q", f[0])
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err := errors.Join(err1, err2); err != nil || end <= start {
			return nil, fmt.Errorf("/proc/self/maps: bad range %q", f[0])
		}
		out = append(out, [2]uintptr{uintptr(start), uintptr(end)})
	}
	return out, sc.Err()
}

// fileRSS is this process's file-backed resident memory (RssFile), in bytes.
func fileRSS() (int64, error) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "RssFile:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/self/status RssFile %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	return 0, errors.New("/proc/self/status has no RssFile")
}

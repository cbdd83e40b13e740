//go:build linux

package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100
// on every Linux ABI whatever the kernel's own tick rate.
const userHZ = 100

// cpuTicks returns the CPU time pid has used so far, user plus system, in
// 1/userHZ seconds (all its threads).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatTicks(b)
}

// parseStatTicks returns utime+stime (fields 14 and 15) of a
// /proc/<pid>/stat line. The command name (field 2) is in parentheses and
// may hold spaces and parentheses, so fields are counted after the last ')'.
func parseStatTicks(b []byte) (int64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command name in %q", b)
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so field k is f[k-3].
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command name; want at least 13", len(f))
	}
	var sum int64
	for _, k := range []int{14, 15} {
		v, err := strconv.ParseInt(f[k-3], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat field %d: %w", k, err)
		}
		sum += v
	}
	return sum, nil
}

// memory is a process's resident set, in bytes, from /proc/<pid>/status.
type memory struct {
	RSS   int64 // VmRSS
	Anon  int64 // RssAnon: heap, stacks and other private memory
	File  int64 // RssFile: pages mapped from files, mostly the binary
	Shmem int64 // RssShmem
}

// readMemory reads pid's resident set.
func readMemory(pid int) (memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	return parseStatus(b)
}

// parseStatus reads VmRSS, RssAnon, RssFile and RssShmem ("kB" lines) of a
// /proc/<pid>/status file.
func parseStatus(b []byte) (memory, error) {
	var m memory
	fields := map[string]*int64{"VmRSS:": &m.RSS, "RssAnon:": &m.Anon, "RssFile:": &m.File, "RssShmem:": &m.Shmem}
	seen := 0
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || f[2] != "kB" {
			continue
		}
		p, ok := fields[f[0]]
		if !ok {
			continue
		}
		v, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return memory{}, fmt.Errorf("status %s: %w", f[0], err)
		}
		*p = v * 1024
		seen++
	}
	if seen != len(fields) {
		return memory{}, fmt.Errorf("status: found %d of VmRSS, RssAnon, RssFile, RssShmem", seen)
	}
	return m, nil
}

// tcpEstablished counts the established TCP connections (IPv4 and IPv6) in
// pid's network namespace whose local or remote port is port, one count
// per port asked for. Connections to a loopback address (the harness's own
// API polls) are left out; every node is alone in its namespace, so the
// rest are its connections to other nodes.
func tcpEstablished(pid int, ports []int) (map[int]int, error) {
	out := map[int]int{}
	for _, f := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, f))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		c, err := parseNetTCP(b, ports)
		if err != nil {
			return nil, err
		}
		for p, n := range c {
			out[p] += n
		}
	}
	return out, nil
}

// parseNetTCP counts the ESTABLISHED (st 01) lines of a /proc/net/tcp or
// tcp6 file by port, matching either end, except those whose remote
// address is loopback.
func parseNetTCP(b []byte, ports []int) (map[int]int, error) {
	out := map[int]int{}
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 4 {
			continue // header or blank
		}
		if f[3] != "01" || loopbackHex(f[2]) {
			continue
		}
		lp, err := hexPort(f[1])
		if err != nil {
			return nil, err
		}
		rp, err := hexPort(f[2])
		if err != nil {
			return nil, err
		}
		for _, p := range ports {
			if lp == p || rp == p {
				out[p]++
			}
		}
	}
	return out, nil
}

// hexPort reads the port of an "ADDR:PORT" field of /proc/net/tcp.
func hexPort(s string) (int, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return 0, fmt.Errorf("net/tcp address %q: no port", s)
	}
	v, err := strconv.ParseUint(s[i+1:], 16, 16)
	if err != nil {
		return 0, fmt.Errorf("net/tcp address %q: %w", s, err)
	}
	return int(v), nil
}

// loopbackHex tells whether an "ADDR:PORT" field of /proc/net/tcp{,6} is a
// loopback address: 127.0.0.0/8 (IPv4, or IPv4-mapped in tcp6) or ::1. The
// kernel prints each 32-bit word in host (little-endian) order, so 127.x
// ends in "7F" and ::1 is "00000000000000000000000001000000".
func loopbackHex(s string) bool {
	addr, _, _ := strings.Cut(s, ":")
	switch len(addr) {
	case 8:
		return strings.HasSuffix(addr, "7F")
	case 32:
		return addr == "00000000000000000000000001000000" ||
			(strings.HasPrefix(addr, "0000000000000000FFFF0000") && strings.HasSuffix(addr, "7F"))
	}
	return false
}

// loadAvg is the machine's 1-minute load average, or NaN if unreadable.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return math.NaN()
	}
	return parseLoadAvg(b)
}

// parseLoadAvg reads the first field of /proc/loadavg; NaN if malformed.
func parseLoadAvg(b []byte) float64 {
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return math.NaN()
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

//go:build linux

package main

import (
	"math"
	"os"
	"reflect"
	"testing"
)

func TestParseStatTicks(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int64
	}{
		// A real line of a meshmon process: utime 1234, stime 567.
		{"plain", "4242 (meshmon) S 1 4242 4242 0 -1 4194560 9000 0 0 0 1234 567 0 0 20 0 12 0 100 1000 2000 18446744073709551615", 1801},
		// The command name may hold spaces and parentheses.
		{"odd name", "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 10 20 0 0 20 0 1 0 5 6 7", 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatTicks([]byte(tt.in))
			if err != nil || got != tt.want {
				t.Fatalf("parseStatTicks(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "12 no-parens S 1 2", "1 (x) S 1 2 3"} {
		if _, err := parseStatTicks([]byte(bad)); err == nil {
			t.Errorf("parseStatTicks(%q): no error", bad)
		}
	}
}

// TestCPUTicksOfSelf reads this test process's own stat: real /proc input.
func TestCPUTicksOfSelf(t *testing.T) {
	if _, err := cpuTicks(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	m, err := readMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.Anon <= 0 || m.File <= 0 || m.Anon+m.File+m.Shmem != m.RSS {
		t.Fatalf("readMemory(self) = %+v; want positive parts that add up to RSS", m)
	}
}

func TestParseStatus(t *testing.T) {
	in := "Name:\tmeshmon\nVmPeak:\t 1000 kB\nVmRSS:\t   40000 kB\nRssAnon:\t   14000 kB\nRssFile:\t   26000 kB\nRssShmem:\t       0 kB\nThreads:\t12\n"
	got, err := parseStatus([]byte(in))
	want := memory{RSS: 40000 << 10, Anon: 14000 << 10, File: 26000 << 10}
	if err != nil || got != want {
		t.Fatalf("parseStatus = %+v, %v; want %+v", got, err, want)
	}
	if _, err := parseStatus([]byte("VmRSS:\t 1 kB\n")); err == nil {
		t.Fatal("parseStatus without RssAnon/RssFile/RssShmem: no error")
	}
}

func TestParseNetTCP(t *testing.T) {
	// Node 10.77.0.10 (0A004D0A little-endian): listening on 4001 (0FA1),
	// two established libp2p connections (one in, one out), one HTTP
	// connection to a peer's 8000 (1F40), one in TIME_WAIT (06).
	in := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0FA1 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0A004D0A:0FA1 0B004D0A:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0 20 4 30 10 -1
   2: 0A004D0A:A000 0C004D0A:0FA1 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0 20 4 30 10 -1
   3: 0A004D0A:A001 0C004D0A:1F40 01 00000000:00000000 00:00000000 00000000     0        0 4 1 0 20 4 30 10 -1
   4: 0A004D0A:A002 0D004D0A:0FA1 06 00000000:00000000 00:00000000 00000000     0        0 0 3 0
   5: 0100007F:1F40 0100007F:B000 01 00000000:00000000 00:00000000 00000000     0        0 5 1 0 20 4 30 10 -1
`
	// Line 5 is the harness polling the API on 127.0.0.1: not counted.
	got, err := parseNetTCP([]byte(in), []int{4001, 8000, 7946})
	want := map[int]int{4001: 2, 8000: 1}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("parseNetTCP = %v, %v; want %v", got, err, want)
	}
}

func TestLoopbackHex(t *testing.T) {
	for in, want := range map[string]bool{
		"0100007F:1F40":                         true,  // 127.0.0.1
		"0500007F:0050":                         true,  // 127.0.0.5
		"0A004D0A:0FA1":                         false, // 10.77.0.10
		"00000000000000000000000001000000:1F40": true,  // ::1
		"0000000000000000FFFF00000100007F:1F40": true,  // ::ffff:127.0.0.1
		"0000000000000000FFFF00000A004D0A:1F40": false, // ::ffff:10.77.0.10
		"000080FE00000000FF005450B6AD1DFE:0FA1": false, // fe80::…
	} {
		if got := loopbackHex(in); got != want {
			t.Errorf("loopbackHex(%q) = %v; want %v", in, got, want)
		}
	}
}

func TestParseLoadAvg(t *testing.T) {
	if got := parseLoadAvg([]byte("3.37 3.76 2.24 5/812 12345\n")); got != 3.37 {
		t.Fatalf("parseLoadAvg = %v; want 3.37", got)
	}
	if got := parseLoadAvg([]byte("")); !math.IsNaN(got) {
		t.Fatalf("parseLoadAvg(empty) = %v; want NaN", got)
	}
}

package main

import (
	"slices"
	"strings"
	"testing"
)

func TestReadOnlyMappings(t *testing.T) {
	maps := `00400000-00c00000 r-xp 00000000 08:02 1234 /app/meshmon
00c00000-01400000 r--p 00800000 08:02 1234 /app/meshmon
01400000-01500000 rw-p 01000000 08:02 1234 /app/meshmon
01500000-01600000 rw-p 00000000 00:00 0
7f0000000000-7f0000100000 r-xp 00000000 08:02 99 /lib/x86_64-linux-gnu/libc.so.6
7f0000200000-7f0000300000 r--s 00000000 08:02 1234 /app/meshmon
7f0000400000-7f0000500000 r-xp 00000000 08:02 77 /app/meshmon (deleted)
`
	got, err := readOnlyMappings([]byte(maps), "/app/meshmon")
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]uintptr{{0x400000, 0xc00000}, {0xc00000, 0x1400000}}
	if !slices.Equal(got, want) {
		t.Errorf("readOnlyMappings = %#x, want %#x (never writable, shared or other files)", got, want)
	}
	if _, err := readOnlyMappings([]byte("zz-00 r-xp 0 0 0 /app/meshmon\n"), "/app/meshmon"); err == nil {
		t.Error("a bad range must be an error")
	}
}

// TestTrimExecutablePages trims this test binary's own pages: its
// file-backed RSS falls, and the process keeps working (the code it runs
// next faults back in).
func TestTrimExecutablePages(t *testing.T) {
	// Touch a good part of the binary first.
	for range 3 {
		_ = strings.Repeat("x", 1<<10)
		testFlags := runFlags()
		if len(testFlags) == 0 {
			t.Fatal("no run flags")
		}
	}
	before, after, err := trimExecutablePages()
	if err != nil {
		t.Fatal(err)
	}
	if before <= 0 || after >= before {
		t.Fatalf("file-backed RSS %d KiB before, %d KiB after: want it to fall", before>>10, after>>10)
	}
	t.Logf("file-backed RSS %d KiB → %d KiB", before>>10, after>>10)
	// Everything still runs: a second trim, flags, formatting.
	if _, _, err := trimExecutablePages(); err != nil {
		t.Fatal(err)
	}
	var out, errOut strings.Builder
	if err := run(t.Context(), []string{"meshmon", "version"}, &out, &errOut); err != nil || out.Len() == 0 {
		t.Fatalf("meshmon version after the trim: %v, %q %q", err, out.String(), errOut.String())
	}
}

package main

import (
	"slices"
	"testing"
)

func TestRunAsRoot(t *testing.T) {
	for _, tt := range []struct {
		val     string
		keep    bool
		wantErr bool
	}{
		{"", false, false}, {"0", false, false}, {"false", false, false},
		{"1", true, false}, {"true", true, false}, {" 1 ", true, false},
		{"yes", false, true}, {"root", false, true},
	} {
		keep, err := runAsRoot(func(k string) string {
			if k != runAsRootEnv {
				t.Fatalf("read %s", k)
			}
			return tt.val
		})
		if keep != tt.keep || (err != nil) != tt.wantErr {
			t.Errorf("%s=%q: keep %v err %v; want keep %v, error %v", runAsRootEnv, tt.val, keep, err, tt.keep, tt.wantErr)
		}
	}
}

func TestRootMapsTo(t *testing.T) {
	for _, tt := range []struct {
		uidMap string
		out    uint64
		ok     bool
	}{
		{"         0          0 4294967295\n", 0, true},                                      // no user namespace
		{"         0       1000          1\n         1     100000      65536\n", 1000, true}, // rootless
		{"         0     100000      65536\n", 100000, true},                                 // userns-remap
		{"      1000       1000          1\n", 0, false},                                     // root unmapped
		{"", 0, false},
		{"garbage\n", 0, false},
	} {
		out, ok := rootMapsTo(tt.uidMap)
		if out != tt.out || ok != tt.ok {
			t.Errorf("rootMapsTo(%q) = %d, %v; want %d, %v", tt.uidMap, out, ok, tt.out, tt.ok)
		}
	}
}

func TestProcStatusIDs(t *testing.T) {
	const status = "Name:\tmeshmon\nUid:\t1234\t1234\t1234\t1234\nGid:\t1234\t1234\t1234\t1234\nGroups:\t\nCapEff:\t0000000000000000\n"
	if ids, ok := procStatusIDs(status, "Uid"); !ok || !slices.Equal(ids, []string{"1234", "1234", "1234", "1234"}) {
		t.Errorf("Uid: %v %v", ids, ok)
	}
	if ids, ok := procStatusIDs(status, "Groups"); !ok || len(ids) != 0 {
		t.Errorf("Groups: %v %v", ids, ok)
	}
	if _, ok := procStatusIDs(status, "Umask"); ok {
		t.Errorf("found a missing field")
	}
}

func TestStepDownEnabled(t *testing.T) {
	for _, tt := range []struct {
		val     string
		on      bool
		wantErr bool
	}{
		{"", false, false}, {"0", false, false}, {"false", false, false},
		{"1", true, false}, {"true", true, false},
		{"image", false, true},
	} {
		t.Run(tt.val, func(t *testing.T) {
			on, err := stepDownEnabled(func(k string) string {
				if k != stepDownEnv {
					t.Fatalf("read %s", k)
				}
				return tt.val
			})
			if on != tt.on || (err != nil) != tt.wantErr {
				t.Errorf("%s=%q: on %v err %v; want on %v, error %v", stepDownEnv, tt.val, on, err, tt.on, tt.wantErr)
			}
		})
	}
}

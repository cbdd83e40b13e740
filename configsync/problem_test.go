package configsync

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestProblemError(t *testing.T) {
	tests := []struct {
		in   Problem
		want string
	}{
		{Problem{File: "nodeconf.yml", Line: 3, Path: "networks[1].node_id", Msg: "required"}, "nodeconf.yml:3: networks[1].node_id: required"},
		{Problem{File: "nodeconf.yml", Path: "networks", Msg: "required"}, "nodeconf.yml: networks: required"},
		{Problem{File: "nodeconf.yml", Line: 2, Msg: "want a mapping"}, "nodeconf.yml:2: want a mapping"},
		{Problem{File: "networks/a/config.yml", Msg: "file is empty"}, "networks/a/config.yml: file is empty"},
	}
	for _, tt := range tests {
		if got := tt.in.Error(); got != tt.want {
			t.Errorf("(%+v).Error() = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestProblems(t *testing.T) {
	p1 := &Problem{File: "a", Line: 1, Msg: "one"}
	p2 := &Problem{File: "a", Line: 2, Msg: "two"}
	p3 := &Problem{File: "b", Msg: "three"}
	tests := []struct {
		name string
		in   error
		want []*Problem
	}{
		{"nil", nil, nil},
		{"not a problem", fs.ErrNotExist, nil},
		{"one", p1, []*Problem{p1}},
		{"joined", errors.Join(p1, p2), []*Problem{p1, p2}},
		{"wrapped", fmt.Errorf("load: %w", p1), []*Problem{p1}},
		{"nested joins in order", errors.Join(errors.Join(p1, p2), fs.ErrPermission, fmt.Errorf("x: %w", p3)), []*Problem{p1, p2, p3}},
		{"wrapping several", fmt.Errorf("x: %w, %w", p2, p1), []*Problem{p2, p1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Problems(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("Problems(%v) = %v; want %v", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("Problems(%v)[%d] = %v; want %v", tt.in, i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestClosest(t *testing.T) {
	names := []string{"directory", "node_id", "config_type", "git_repo", "git_ref", "git_interval"}
	tests := []struct{ in, want string }{
		{"node_id", "node_id"},
		{"nodeid", "node_id"},
		{"node-id", "node_id"},
		{"directroy", "directory"},
		{"git_rep", "git_repo"},
		{"git_reff", "git_ref"},
		{"interval", ""},
		{"", ""},
		{"url", ""},
	}
	for _, tt := range tests {
		if got := closest(tt.in, names); got != tt.want {
			t.Errorf("closest(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"", "abc", 3},
		{"abc", "", 3},
		{"kitten", "sitting", 3},
		{"node_id", "nodeid", 1},
		{"timing", "timng", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

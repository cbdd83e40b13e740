package main

import (
	"testing"
	"time"
)

func TestParseRetention(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"90d", 90 * 24 * time.Hour, false},
		{" 7d ", 7 * 24 * time.Hour, false},
		{"36h", 36 * time.Hour, false},
		{"0d", 0, true},
		{"-1h", 0, true},
		{"1.5d", 0, true},
		{"week", 0, true},
		{"", 0, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseRetention(tc.in)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("parseRetention(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
			}
		})
	}
}

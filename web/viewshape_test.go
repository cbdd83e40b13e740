package web

import (
	"testing"
)

func TestViewShape(t *testing.T) {
	base := `{"networks":{"n":{"updated_at":"2026-12-06T10:00:00Z","nodes":{"a":{"status":"online","last_heard_ms":120,"observers":{"b":{"opinion":"reachable","rtt_ms":0.25}}}},"connections":[{"src":"a","dst":"b","status":"up","rtt_ms":0.3}]}}}`
	for _, tc := range []struct {
		name  string
		other string
		same  bool
	}{
		{"identical", base, true},
		{"only measurements and ages differ",
			`{"networks":{"n":{"updated_at":"2026-12-06T10:00:05Z","nodes":{"a":{"status":"online","last_heard_ms":900,"observers":{"b":{"opinion":"reachable","rtt_ms":0.41}}}},"connections":[{"src":"a","dst":"b","status":"up","rtt_ms":1.7}]}}}`, true},
		{"a status differs",
			`{"networks":{"n":{"updated_at":"2026-12-06T10:00:00Z","nodes":{"a":{"status":"offline","last_heard_ms":120,"observers":{"b":{"opinion":"reachable","rtt_ms":0.25}}}},"connections":[{"src":"a","dst":"b","status":"up","rtt_ms":0.3}]}}}`, false},
		{"an opinion differs",
			`{"networks":{"n":{"updated_at":"2026-12-06T10:00:00Z","nodes":{"a":{"status":"online","last_heard_ms":120,"observers":{"b":{"opinion":"suspect","rtt_ms":0.25}}}},"connections":[{"src":"a","dst":"b","status":"up","rtt_ms":0.3}]}}}`, false},
		{"a first RTT is measured",
			`{"networks":{"n":{"updated_at":"2026-12-06T10:00:00Z","nodes":{"a":{"status":"online","last_heard_ms":120,"observers":{"b":{"opinion":"reachable","rtt_ms":0}}}},"connections":[{"src":"a","dst":"b","status":"up","rtt_ms":0.3}]}}}`, false},
		{"a member is heard for the first time",
			`{"networks":{"n":{"updated_at":"2026-12-06T10:00:00Z","nodes":{"a":{"status":"online","last_heard_ms":-1,"observers":{"b":{"opinion":"reachable","rtt_ms":0.25}}}},"connections":[{"src":"a","dst":"b","status":"up","rtt_ms":0.3}]}}}`, false},
		{"a link goes down",
			`{"networks":{"n":{"updated_at":"2026-12-06T10:00:00Z","nodes":{"a":{"status":"online","last_heard_ms":120,"observers":{"b":{"opinion":"reachable","rtt_ms":0.25}}}},"connections":[{"src":"a","dst":"b","status":"down","rtt_ms":0}]}}}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := viewShape([]byte(base))
			if err != nil {
				t.Fatal(err)
			}
			b, err := viewShape([]byte(tc.other))
			if err != nil {
				t.Fatal(err)
			}
			if got := string(a) == string(b); got != tc.same {
				t.Errorf("same shape = %v; want %v\n%s\n%s", got, tc.same, a, b)
			}
		})
	}
}

package p2p

import (
	"testing"
	"time"
)

// TestAnswerAge: a result taken a pace after the previous one was answered
// RTT after that take.
func TestAnswerAge(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	for _, c := range []struct {
		name      string
		prev, now time.Time
		rtt, want time.Duration
	}{
		{"first result", time.Time{}, t0, 5 * time.Millisecond, 0},
		{"paced", t0, t0.Add(time.Second), 5 * time.Millisecond, 995 * time.Millisecond},
		{"taken as it came", t0, t0.Add(40 * time.Millisecond), 40 * time.Millisecond, 0},
		{"clock oddity", t0, t0.Add(time.Millisecond), 40 * time.Millisecond, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := answerAge(c.prev, c.now, c.rtt); got != c.want {
				t.Errorf("answerAge = %v; want %v", got, c.want)
			}
		})
	}
}

// TestPingResultsDatedByAnswer: on a real pair, each result after the first
// is handed over with the age of its answer: at least a ping interval
// since the previous result, less its RTT.
func TestPingResultsDatedByAnswer(t *testing.T) {
	nodes := newKeys(t, "a", "b")
	a, b := nodes["a"], nodes["b"]
	a.start(t, nodes)
	b.start(t, nodes)
	pinger := a
	if !a.net.pings(b.id) {
		pinger = b
	}
	a.connect(t, b)
	interval := pinger.net.pingInterval()
	waitFor(t, 30*time.Second, "three ping results", func() bool {
		pinger.rec.mu.Lock()
		defer pinger.rec.mu.Unlock()
		return len(pinger.rec.ages) >= 6
	})
	pinger.rec.mu.Lock()
	defer pinger.rec.mu.Unlock()
	for i := 2; i+1 < len(pinger.rec.ages); i += 2 {
		age, rtt := pinger.rec.ages[i], pinger.rec.ages[i+1]
		if age+rtt < interval {
			t.Errorf("result %d: age %v + rtt %v < the ping interval %v; want the answer dated by when it came", i/2, age, rtt, interval)
		}
	}
}

//go:build linux

package chaos

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// soakRound is one kind of trouble the soak injects, then the window it
// judges.
type soakRound struct {
	name string
	// budget is about how long the round takes; the soak starts no round
	// that would end past its deadline.
	budget time.Duration
	// run injects the trouble on victim v (an index that rotates) and
	// returns the window to judge and a note for the summary.
	run func(v int) (verdict, string)
}

// soakResult is one judged round.
type soakResult struct {
	round, note string
	from, to    time.Time
	f           findings
	calm        bool // the cluster calmed down after the round
}

// TestSoak is `make soak`: 10 nodes (MESHMON_SOAK_NODES) in namespaces
// behind the impairing switch for 30 minutes (MESHMON_SOAK_FOR), cycling
// through every scenario: quiet, pause a member, pause the leader,
// host-wide starvation bursts, a true outage, 15 % loss with 100 ± 50 ms
// for 60 s (MESHMON_SOAK_LOSS_FOR), a 20 s cut of one node's port, and,
// where a cpu cgroup is writable, a shared CPU limit. The victim rotates
// through the nodes. At the end it prints, per round, the false
// transitions, false events and alerts (true and false), restore and
// detection times, and every node's RSS at the start and the end; it
// fails if any round had a false transition, a false event, a false or
// repeated alert, or missed a true outage. It runs only with
// MESHMON_SOAK=1, and needs root.
func TestSoak(t *testing.T) {
	if os.Getenv("MESHMON_SOAK") != "1" {
		t.Skip("the soak runs only with MESHMON_SOAK=1 (make soak)")
	}
	needLab(t)
	n := envInt(t, "MESHMON_SOAK_NODES", 10)
	total := envDuration(t, "MESHMON_SOAK_FOR", 30*time.Minute)
	lossFor := envDuration(t, "MESHMON_SOAK_LOSS_FOR", 60*time.Second)
	if n < 3 {
		t.Fatalf("MESHMON_SOAK_NODES=%d: want at least 3", n)
	}
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("n%02d", i+1))
	}
	sw := switchedNet(t, newLab(t, "soak"), names)
	sk := newSink(t)
	c := switchedCluster(t, sw, sk)
	c.waitAllOnline(converge)
	c.waitLeader(settle)
	r := record(c)
	r.waitSampled(settle)
	lim, limErr := newCPULimit(t, "soak")
	if limErr == nil {
		for _, p := range c.procs {
			if err := lim.add(p.pid()); err != nil {
				t.Fatalf("%s into the cgroup: %v", p.name, err)
			}
		}
	} else {
		t.Logf("no CPU-limit round: %v", limErr)
	}
	start := time.Now()
	deadline := start.Add(total)
	rss0 := rssAll(c)
	all := c.all()

	leader := func() int { return c.waitLeader(settle) }
	notLeader := func(v int) int {
		if l := leader(); v == l {
			return (v + 1) % n
		}
		return v
	}
	pause := func(v int, d time.Duration) (verdict, string) {
		name := c.procs[v].name
		t1 := time.Now()
		c.signal(syscall.SIGSTOP, v)
		hold(d)
		c.signal(syscall.SIGCONT, v)
		took, ok, _ := c.until(settle, name+" online again at every node", c.statusIs(all, []int{v}, "online"))
		note := fmt.Sprintf("%s online %.1fs after SIGCONT", name, took.Seconds())
		if !ok {
			note = name + " NOT online again within " + settle.String()
		}
		hold(afterPause)
		return verdict{from: t1, to: time.Now(), ok: only(name),
			alertsOK: func(a alertRec) bool { return a.Node == name }}, note
	}
	var missed []string
	rounds := []soakRound{
		{"quiet", 30 * time.Second, func(int) (verdict, string) {
			t1 := time.Now()
			hold(30 * time.Second)
			return verdict{from: t1, to: time.Now(), ok: nobody}, ""
		}},
		{"pause member 10s", 40 * time.Second, func(v int) (verdict, string) {
			return pause(notLeader(v), pauseFor)
		}},
		{"pause leader 10s", 40 * time.Second, func(int) (verdict, string) {
			return pause(leader(), pauseFor)
		}},
		{"starve all 6×(2.5s stop, 1s run)", 30 * time.Second, func(int) (verdict, string) {
			t1 := time.Now()
			starve(t, c, 6, 2500*time.Millisecond, time.Second)
			hold(afterPause)
			return verdict{from: t1, to: time.Now(), ok: nobody}, ""
		}},
		{"true outage 8s", 50 * time.Second, func(v int) (verdict, string) {
			v = notLeader(v)
			name := c.procs[v].name
			t1 := time.Now()
			c.signal(syscall.SIGSTOP, v)
			took, ok, _ := c.until(outageFor, name+" offline at every other node", c.statusIs(except(all, v), []int{v}, "offline"))
			hold(awaitTime(t1.Add(outageFor)))
			c.signal(syscall.SIGCONT, v)
			note := fmt.Sprintf("%s detected in %.1fs", name, took.Seconds())
			if !ok {
				note = name + " NOT DETECTED while stopped"
				missed = append(missed, name+" at "+t1.Format("15:04:05"))
			}
			c.until(settle, name+" online again", c.statusIs(all, []int{v}, "online"))
			_, alerted, _ := c.until(settle, "offline and online alert about "+name, func() (bool, string) {
				k := alertCounts(sk.between(t1, time.Now()))
				return k[name+" offline"] >= 1 && k[name+" online"] >= 1, fmtCounts(k)
			})
			if !alerted {
				note += "; offline/online alert MISSING"
				missed = append(missed, "alerts about "+name+" at "+t1.Format("15:04:05"))
			}
			hold(afterPause)
			return verdict{from: t1, to: time.Now(), ok: only(name), alertsOK: func(a alertRec) bool {
				return a.Node == name && (a.Kind == "offline" || a.Kind == "online")
			}}, note
		}},
		{"15% loss, 100±50ms", lossFor + 15*time.Second, func(int) (verdict, string) {
			t1 := time.Now()
			sw.sw.setAll(impairment{Loss: 0.15, Delay: 100 * time.Millisecond, Jitter: 50 * time.Millisecond})
			hold(lossFor)
			sw.sw.setAll(impairment{})
			hold(afterLink)
			return verdict{from: t1, to: time.Now(), ok: nobody}, fmt.Sprintf("for %s", lossFor)
		}},
		{"cut one port 20s", 60 * time.Second, func(v int) (verdict, string) {
			v = notLeader(v)
			name := c.procs[v].name
			t1 := time.Now()
			sw.sw.set(v, impairment{Down: true})
			hold(cutFor)
			sw.sw.set(v, impairment{})
			took, ok, _ := c.until(settle, name+" online again after the restore", c.statusIs(all, []int{v}, "online"))
			note := fmt.Sprintf("%s online %.2fs after the restore", name, took.Seconds())
			if !ok {
				note = name + " NOT online within " + settle.String() + " of the restore"
			}
			c.until(settle, "every node sees every node online", c.statusIs(all, all, "online"))
			hold(afterLink)
			return verdict{from: t1, to: time.Now(),
				ok: func(o, m string) bool { return m == name || o == name },
				alertsOK: func(a alertRec) bool {
					return a.Node == name && (a.Kind == "offline" || a.Kind == "online")
				}}, note
		}},
	}
	if limErr == nil {
		rounds = append(rounds, soakRound{"CPU limit 0.5% for 20s", 35 * time.Second, func(int) (verdict, string) {
			t1 := time.Now()
			if err := lim.set(0.005); err != nil {
				t.Fatal(err)
			}
			hold(20 * time.Second)
			if err := lim.set(0); err != nil {
				t.Fatal(err)
			}
			hold(afterPause)
			return verdict{from: t1, to: time.Now(), ok: nobody}, ""
		}})
	}

	var results []soakResult
	for i := 0; ; i++ {
		rd := rounds[i%len(rounds)]
		if time.Now().Add(rd.budget).After(deadline) {
			break
		}
		v := i % n
		t.Logf("soak round %d: %s, %s left", i+1, rd.name, time.Until(deadline).Round(time.Second))
		vd, note := rd.run(v)
		f := r.judge(sk, vd)
		results = append(results, soakResult{round: rd.name, note: note, from: vd.from, to: vd.to, f: f, calm: true})
		// The next round starts from a calm cluster, so that what it
		// finds is its own; a cluster that does not calm down is a
		// finding of the round that left it so.
		if _, ok, detail := c.until(2*time.Minute, "calm: every node shows every node online, unchanged for 10s", r.calm(10*time.Second)); !ok {
			results[len(results)-1].note += "; NOT CALM 2 min after the round: " + detail
			results[len(results)-1].calm = false
		}
	}
	rss1 := rssAll(c)
	t.Log(soakSummary(c, results, rss0, rss1, time.Since(start)))
	if len(missed) > 0 {
		t.Errorf("true outages missed: %s", strings.Join(missed, "; "))
	}
	for i, res := range results {
		if !res.calm {
			t.Errorf("round %d %q: the cluster did not calm down within 2 min after it", i+1, res.round)
		}
		if res.f.bad() {
			t.Errorf("round %d %q (%s–%s):\n%s", i+1, res.round,
				res.from.Format("15:04:05"), res.to.Format("15:04:05"), res.f.describe(10))
		}
	}
}

// rssAll returns every node's RSS in bytes (-1 where unreadable).
func rssAll(c *cluster) []int64 {
	out := make([]int64, len(c.procs))
	for i, p := range c.procs {
		v, err := p.rss()
		if err != nil {
			v = -1
		}
		out[i] = v
	}
	return out
}

// soakSummary prints one line per round and the RSS drift per node.
func soakSummary(c *cluster, results []soakResult, rss0, rss1 []int64, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n===== SOAK SUMMARY: %d nodes, %d rounds in %s =====\n", len(c.procs), len(results), took.Round(time.Second))
	fmt.Fprintf(&b, "%-3s %-32s %-8s %6s %6s %6s %6s %6s %6s  %s\n", "#", "round", "start", "falseT", "falseE", "alerts", "false", "repeat", "late", "note")
	var sumT, sumE, sumA, sumBad, sumRep, sumLate int
	for i, r := range results {
		rep := len(r.f.dups) + len(r.f.repeats)
		fmt.Fprintf(&b, "%-3d %-32s %-8s %6d %6d %6d %6d %6d %6d  %s\n", i+1, r.round, r.from.Format("15:04:05"),
			len(r.f.transitions), len(r.f.events), len(r.f.allAlerts), len(r.f.alerts), rep, len(r.f.late), r.note)
		sumT += len(r.f.transitions)
		sumE += len(r.f.events)
		sumA += len(r.f.allAlerts)
		sumBad += len(r.f.alerts)
		sumRep += rep
		sumLate += len(r.f.late)
	}
	fmt.Fprintf(&b, "total: %d false transitions, %d false status events, %d alerts of which %d false, %d repeated, %d late\n",
		sumT, sumE, sumA, sumBad, sumRep, sumLate)
	b.WriteString("RSS per node (start → end):\n")
	for i, p := range c.procs {
		fmt.Fprintf(&b, "  %s %6.1f MB → %6.1f MB (%+.1f MB)\n", p.name, mb(rss0[i]), mb(rss1[i]), mb(rss1[i])-mb(rss0[i]))
	}
	return b.String()
}

func mb(v int64) float64 { return float64(v) / (1 << 20) }

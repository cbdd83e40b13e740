//go:build linux

package chaos

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// transition is one change of the status an observer shows for a member,
// as the recorder saw it between two polls.
type transition struct {
	Observer, Member string
	From, To         string    // From is "" at the first sample
	At               time.Time // the first poll that showed To
	Prev             time.Time // the poll before it (zero at the first sample)
}

// String is how transitions show in failure messages.
func (tr transition) String() string {
	from := tr.From
	if from == "" {
		from = "(first sample)"
	}
	return fmt.Sprintf("at %s, %s went %s→%s between %s and %s", tr.Observer, tr.Member, from, tr.To,
		tr.Prev.Format("15:04:05.000"), tr.At.Format("15:04:05.000"))
}

// seenEvent is an event of one node's /api/events.
type seenEvent struct {
	Observer string
	event
}

// String is how events show in failure messages.
func (e seenEvent) String() string {
	return fmt.Sprintf("%s event #%d at %s: %s %s (%s→%s, %s)", e.Observer, e.ID,
		e.Time.Format("15:04:05.000"), e.Kind, e.Node, e.From, e.To, e.Message)
}

// recorder polls every node's view and events and keeps every status
// transition and every event it sees. A node that does not answer within
// the poll timeout (a stopped one) just has no samples for that time.
type recorder struct {
	c       *cluster
	every   time.Duration
	timeout time.Duration
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	// mu protects the following fields.
	mu          sync.Mutex
	last        map[string]map[string]string // observer → member → status
	lastAt      map[string]time.Time         // observer → its latest answered poll
	transitions []transition
	events      []seenEvent
	lastEvent   map[string]int64 // observer → highest event id seen
	polls, errs map[string]int
}

// viewPoll is how often the recorder polls each node's view.
const viewPoll = 150 * time.Millisecond

// record starts polling every node of c every viewPoll (one goroutine per
// node, so a stopped node delays no other) and its events every second.
// It stops when the test ends, or at stop.
func record(c *cluster) *recorder {
	ctx, cancel := context.WithCancel(context.Background())
	r := &recorder{c: c, every: viewPoll, timeout: time.Second, cancel: cancel,
		last: map[string]map[string]string{}, lastAt: map[string]time.Time{},
		lastEvent: map[string]int64{}, polls: map[string]int{}, errs: map[string]int{}}
	for _, p := range c.procs {
		r.last[p.name] = map[string]string{}
	}
	for _, p := range c.procs {
		r.wg.Add(1)
		go r.poll(ctx, p)
	}
	c.t.Cleanup(r.stop)
	return r
}

// stop ends the polling and waits for it.
func (r *recorder) stop() {
	r.cancel()
	r.wg.Wait()
}

func (r *recorder) poll(ctx context.Context, p *proc) {
	defer r.wg.Done()
	tick := time.NewTicker(r.every)
	defer tick.Stop()
	nextEvents := time.Now()
	for {
		r.pollView(p)
		if time.Now().After(nextEvents) {
			r.pollEvents(ctx, p)
			nextEvents = time.Now().Add(time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (r *recorder) pollView(p *proc) {
	v, err := p.view(r.timeout)
	at := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	r.polls[p.name]++
	if err != nil {
		r.errs[p.name]++
		return
	}
	prev := r.lastAt[p.name]
	for member, nv := range v.Nodes {
		old, seen := r.last[p.name][member]
		if seen && old == nv.Status {
			continue
		}
		r.last[p.name][member] = nv.Status
		r.transitions = append(r.transitions, transition{Observer: p.name, Member: member,
			From: old, To: nv.Status, At: at, Prev: prev})
	}
	r.lastAt[p.name] = at
}

// pollEvents fetches the events newer than the last one seen, paging back
// as far as needed.
func (r *recorder) pollEvents(ctx context.Context, p *proc) {
	r.mu.Lock()
	seen := r.lastEvent[p.name]
	r.mu.Unlock()
	var fresh []event
	before := int64(0)
	for {
		path := "/api/events?network=" + networkID + "&limit=200"
		if before > 0 {
			path += fmt.Sprintf("&before=%d", before)
		}
		pctx, cancel := context.WithTimeout(ctx, r.timeout)
		var page eventPage
		err := p.get(pctx, path, &page)
		cancel()
		if err != nil {
			return // try again next time
		}
		done := page.NextBefore == 0
		for _, e := range page.Events {
			if e.ID <= seen {
				done = true
				break
			}
			fresh = append(fresh, e)
		}
		if done {
			break
		}
		before = page.NextBefore
	}
	if len(fresh) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := len(fresh) - 1; i >= 0; i-- { // oldest first
		r.events = append(r.events, seenEvent{Observer: p.name, event: fresh[i]})
	}
	r.lastEvent[p.name] = fresh[0].ID
}

// flushEvents fetches every node's latest events now (at the end of a
// scenario, so that none raised in its last second is missed).
func (r *recorder) flushEvents() {
	for _, p := range r.c.procs {
		r.pollEvents(context.Background(), p)
	}
}

// allow says which (observer, member) pairs a scenario lets leave online:
// a member that really was down, as its peers see it.
type allow func(observer, member string) bool

// only allows every observer but the member itself to see member go down.
func only(member string) allow {
	return func(observer, m string) bool { return m == member && observer != member }
}

// nobody allows nothing.
func nobody(string, string) bool { return false }

// leftOnline returns every transition away from online in [t1, t2], at any
// observer, that ok does not allow; a pair that was not online at t1
// counts too.
func (r *recorder) leftOnline(t1, t2 time.Time, ok allow) []transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []transition
	atT1 := map[[2]string]transition{}
	for _, tr := range r.transitions {
		if tr.Observer == tr.Member {
			continue
		}
		if tr.At.Before(t1) {
			atT1[[2]string{tr.Observer, tr.Member}] = tr
			continue
		}
		if tr.At.After(t2) {
			continue
		}
		if tr.To != "online" && !ok(tr.Observer, tr.Member) {
			out = append(out, tr)
		}
	}
	for k, tr := range atT1 {
		if tr.To != "online" && !ok(k[0], k[1]) {
			out = append(out, tr)
		}
	}
	return out
}

// badEvents returns the status events raised in [t1, t2] that take a
// member away from online, by any node, that ok does not allow.
func (r *recorder) badEvents(t1, t2 time.Time, ok allow) []seenEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []seenEvent
	for _, e := range r.events {
		if e.Kind != "status" || e.To == "online" || e.Time.Before(t1) || e.Time.After(t2) {
			continue
		}
		if !ok(e.Observer, e.Node) {
			out = append(out, e)
		}
	}
	return out
}

// pollStats describes how many polls each node answered, for the log.
func (r *recorder) pollStats() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.polls))
	for n := range r.polls {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %d/%d", n, r.polls[n]-r.errs[n], r.polls[n]))
	}
	return "polls answered: " + strings.Join(parts, ", ")
}

// verdict is what a scenario checks at its end.
type verdict struct {
	// from, to bound the window checked.
	from, to time.Time
	// ok says which members may leave online, and where.
	ok allow
	// alertsOK says whether an alert is one the scenario allows.
	alertsOK func(alertRec) bool
}

// findings is what went wrong in one window.
type findings struct {
	transitions []transition   // members that left online and must not have
	events      []seenEvent    // status events that must not have been raised
	alerts      []alertRec     // alerts that must not have been sent
	dups        map[string]int // alert id → times sent, for ids sent more than once
	repeats     map[string]int // "node kind" → times alerted, when more than once
	late        []alertRec     // alerts that arrived over lateAfter after their change
	junk        []string       // posts that were not a payload
	allAlerts   []alertRec     // every alert of the window
}

// bad tells whether anything went wrong.
func (f findings) bad() bool {
	return len(f.transitions)+len(f.events)+len(f.alerts)+len(f.dups)+len(f.repeats)+len(f.late)+len(f.junk) > 0
}

// describe lists the findings, at most max of each kind.
func (f findings) describe(max int) string {
	var b strings.Builder
	if n := len(f.transitions); n > 0 {
		fmt.Fprintf(&b, "%d false transitions away from online, the first ones:\n%s", n, lines(f.transitions[:min(n, max)]))
	}
	if n := len(f.events); n > 0 {
		fmt.Fprintf(&b, "%d false status events, the first ones:\n%s", n, lines(f.events[:min(n, max)]))
	}
	if n := len(f.alerts); n > 0 {
		fmt.Fprintf(&b, "%d alerts that must not be sent:\n%s", n, lines(f.alerts))
	}
	if len(f.dups) > 0 {
		fmt.Fprintf(&b, "alert ids sent more than once (id → times): %v\n", f.dups)
	}
	if len(f.repeats) > 0 {
		fmt.Fprintf(&b, "node and kind alerted more than once (→ times): %v\n", f.repeats)
	}
	if len(f.late) > 0 {
		fmt.Fprintf(&b, "alerts sent more than %s after the change, as news:\n%s", lateAfter, lines(f.late))
	}
	if len(f.junk) > 0 {
		fmt.Fprintf(&b, "posts that are not a payload:\n%s\n", strings.Join(f.junk, "\n"))
	}
	return b.String()
}

// judge collects every false transition, bad event, unallowed alert and
// repeated alert of the window.
func (r *recorder) judge(s *sink, v verdict) findings {
	r.flushEvents()
	f := findings{
		transitions: r.leftOnline(v.from, v.to, v.ok),
		events:      r.badEvents(v.from, v.to, v.ok),
		allAlerts:   s.between(v.from, v.to),
		dups:        duplicates(s.between(v.from, v.to)),
		repeats:     map[string]int{},
	}
	for _, a := range f.allAlerts {
		if v.alertsOK == nil || !v.alertsOK(a) {
			f.alerts = append(f.alerts, a)
		}
		if a.late() {
			f.late = append(f.late, a)
		}
	}
	for k, n := range alertCounts(f.allAlerts) {
		if n > 1 {
			f.repeats[k] = n
		}
	}
	_, f.junk = s.all()
	return f
}

// check fails the test with everything judge finds, listed in full.
func (r *recorder) check(s *sink, v verdict) {
	t := r.c.t
	t.Helper()
	f := r.judge(s, v)
	t.Log(r.pollStats())
	if len(f.transitions) > 0 {
		t.Errorf("%d false transitions away from online:\n%s", len(f.transitions), lines(f.transitions))
	}
	if len(f.events) > 0 {
		t.Errorf("%d false status events:\n%s", len(f.events), lines(f.events))
	}
	if len(f.alerts) > 0 {
		t.Errorf("%d alerts that must not be sent:\n%s", len(f.alerts), lines(f.alerts))
	}
	if len(f.dups) > 0 {
		t.Errorf("alerts sent more than once (id → times): %v", f.dups)
	}
	for k, n := range f.repeats {
		t.Errorf("%q alerted %d times in one scenario; want at most once", k, n)
	}
	if len(f.late) > 0 {
		t.Errorf("%d alerts sent more than %s after the change they report, as news:\n%s", len(f.late), lateAfter, lines(f.late))
	}
	if len(f.junk) > 0 {
		t.Errorf("posts that are not a schema-1 payload:\n%s", strings.Join(f.junk, "\n"))
	}
}

// lines prints one item per line.
func lines[T fmt.Stringer](items []T) string {
	var b strings.Builder
	for _, it := range items {
		b.WriteString("  ")
		b.WriteString(it.String())
		b.WriteString("\n")
	}
	return b.String()
}

// waitSampled waits until every node has answered a poll showing every
// member, so that a scenario's window starts with a known state.
func (r *recorder) waitSampled(timeout time.Duration) {
	r.c.t.Helper()
	r.c.waitFor(timeout, "recorder has a sample of every node", func() (bool, string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, p := range r.c.procs {
			if len(r.last[p.name]) < len(r.c.procs) {
				return false, p.name + " not sampled yet"
			}
		}
		return true, ""
	})
}

// alertCounts counts alerts by "node kind".
func alertCounts(alerts []alertRec) map[string]int {
	n := map[string]int{}
	for _, a := range alerts {
		n[a.Node+" "+a.Kind]++
	}
	return n
}

// fmtCounts prints alertCounts sorted.
func fmtCounts(n map[string]int) string {
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s ×%d", k, n[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// calm is a waitFor condition: every node's latest poll shows every
// member online, and no status has changed at any node for quiet.
func (r *recorder) calm(quiet time.Duration) func() (bool, string) {
	return func() (bool, string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for obs, members := range r.last {
			for m, st := range members {
				if st != "online" {
					return false, fmt.Sprintf("%s shows %s %s", obs, m, st)
				}
			}
		}
		if n := len(r.transitions); n > 0 {
			if last := r.transitions[n-1]; time.Since(last.At) < quiet {
				return false, "last change " + last.String()
			}
		}
		return true, ""
	}
}

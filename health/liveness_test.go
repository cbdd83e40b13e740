package health

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/p2p"
	"github.com/meshmon/meshmon/p2p/pb"
)

// healthyThree is a driver of a 3-member network where a is connected to
// b and c, every opinion is reachable and confirmed, and the tick ran now.
func healthyThree(t *testing.T, clock *fakeClock) *driver {
	t.Helper()
	d := newDriver(t, clock, "a", "b", "c")
	d.link("b", p2p.Link{Connected: true})
	d.link("c", p2p.Link{Connected: true})
	d.ping("b", time.Millisecond)
	d.ping("c", time.Millisecond)
	d.msg(reportMsg("b", map[string]Opinion{"a": up, "c": up}))
	d.msg(reportMsg("c", map[string]Opinion{"a": up, "b": up}))
	d.newEvents()
	d.lastReport()
	d.s.lastTick = clock.Now()
	return d
}

// TestEngineWithdrawsSuspicionsAfterAPause: a node that was stopped for
// 10 s (SIGSTOP, a starved VM) sees every member's evidence as 10 s old. It
// must not publish those suspicions, nor show anyone as anything but online,
// until it has had suspect_after of fresh evidence; a member that is really
// gone is suspected after that.
func TestEngineWithdrawsSuspicionsAfterAPause(t *testing.T) {
	clock := newFakeClock(t0)
	d := healthyThree(t, clock)

	clock.Advance(10 * time.Second)
	d.s.checkPause(clock.Now(), 100*time.Millisecond) // the first input after SIGCONT
	d.s.evaluate()
	if r := d.lastReport(); r != nil {
		if ops := reportOpinions(r); ops["b"] == sus || ops["c"] == sus {
			t.Fatalf("resumed node published %v; want no suspicion", ops)
		}
	}
	d.wantEvents()
	for _, n := range []string{"b", "c"} {
		if got := d.node(n).Status; got != StatusOnline {
			t.Errorf("status of %s after the pause = %s; want online", n, got)
		}
	}
	if l := d.s.e.View().Local; l.Healthy || l.Reason == "" || l.ReturnedAt == nil || !l.ReturnedAt.Equal(clock.Now()) {
		t.Errorf("local health after the pause = %+v; want not healthy, with a reason, returned now (the others saw a 10 s pause)", l)
	}
	if got := d.s.e.Pauses.Load(); got != 1 {
		t.Errorf("Pauses = %d; want 1", got)
	}

	// b answers again at once; c stays silent.
	clock.Advance(500 * time.Millisecond)
	d.ping("b", time.Millisecond)
	d.s.lastTick = clock.Now()
	clock.Advance(2 * time.Second)
	d.s.lastTick = clock.Now()
	d.s.evaluate()
	if r := d.lastReport(); r != nil && reportOpinions(r)["c"] == sus {
		t.Fatalf("suspected c %v within suspect_after of the resume", reportOpinions(r))
	}
	// After a full suspect_after of running on time, silence counts again.
	clock.Advance(600 * time.Millisecond)
	d.s.lastTick = clock.Now()
	d.s.evaluate()
	r := d.lastReport()
	if r == nil || reportOpinions(r)["c"] != sus || reportOpinions(r)["b"] != up {
		t.Fatalf("after recovering, published %v; want c suspect, b reachable", r)
	}
	if l := d.s.e.View().Local; !l.Healthy {
		t.Errorf("local health after recovering = %+v; want healthy", l)
	}
}

// TestEngineShortPauseIsNoReturn: a pause shorter than suspect_after is
// withdrawn from like any other, but the others did not see this node go,
// so it has not "returned" (the alert dispatch counts it up all along).
func TestEngineShortPauseIsNoReturn(t *testing.T) {
	clock := newFakeClock(t0)
	d := healthyThree(t, clock)
	clock.Advance(2500 * time.Millisecond)
	d.s.checkPause(clock.Now(), 100*time.Millisecond)
	d.step(func(*engineState) {})
	if l := d.s.e.View().Local; l.Healthy || l.ReturnedAt != nil {
		t.Errorf("local health after a 2.5 s pause = %+v; want recovering, not returned", l)
	}
}

// TestEngineClockJumpIsAPause: the wall clock stepped an hour back between
// two ticks (the monotonic clock did not move): evidence ages measured on
// the wall clock are meaningless, so the node recovers as after a pause.
func TestEngineClockJumpIsAPause(t *testing.T) {
	if paused, _ := Lag(100*time.Millisecond, 100*time.Millisecond-time.Hour, 100*time.Millisecond, time.Second); !paused {
		t.Fatal("Lag does not see a 1 h step back")
	}
	clock := newFakeClock(t0)
	d := healthyThree(t, clock)
	// The fake clock has no monotonic reading: a jump shows as a gap.
	clock.Advance(time.Hour)
	d.s.checkPause(clock.Now(), 100*time.Millisecond)
	d.s.evaluate()
	if r := d.lastReport(); r != nil && slices.Contains(reportOpinionValues(r), sus) {
		t.Errorf("published %v after a clock jump; want no suspicion", reportOpinions(r))
	}
}

func reportOpinionValues(r *pb.Report) []Opinion {
	var out []Opinion
	for _, o := range reportOpinions(r) {
		out = append(out, o)
	}
	return out
}

// TestEngineRefute: a message signed with this node's key at a position
// above its own (a forged boot_id, a clone, a run whose counter was lost)
// makes it jump above that position and announce at once.
func TestEngineRefute(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b")
	forged := heartbeatMsg("a", pb.State_STATE_LEAVING, 0)
	forged.Env.Header.BootId = p2p.MaxBoot - 5
	d.msg(forged)
	if d.s.boot != p2p.MaxBoot-4 {
		t.Fatalf("boot after the refute = %d; want %d", d.s.boot, p2p.MaxBoot-4)
	}
	if got := d.s.e.Refutes.Load(); got != 1 {
		t.Errorf("Refutes = %d; want 1", got)
	}
	var announced bool
	for len(d.out) > 0 {
		env := <-d.out
		h := env.GetHeader()
		if h.GetBootId() != p2p.MaxBoot-4 || h.GetSeq() != 1 {
			t.Errorf("published %v at %d/%d; want the new incarnation, seq 1", env.GetBody(), h.GetBootId(), h.GetSeq())
		}
		if hb := env.GetHeartbeat(); hb != nil && hb.GetState() == pb.State_STATE_RUNNING {
			announced = true
		}
	}
	if !announced {
		t.Error("no running announce after the refute")
	}
	if !slices.ContainsFunc(d.events.List(nil), func(ev Event) bool { return ev.Kind == "identity" && ev.Severity == SeverityWarning }) {
		t.Errorf("events = %+v; want an identity warning", d.events.List(nil))
	}
	// An older message of this node (an earlier run, learnt by sync) is no
	// reason to jump.
	old := heartbeatMsg("a", pb.State_STATE_RUNNING, time.Minute)
	old.Env.Header.BootId = 3
	d.msg(old)
	if d.s.boot != p2p.MaxBoot-4 || d.s.e.Refutes.Load() != 1 {
		t.Errorf("an older own message moved boot to %d", d.s.boot)
	}
}

// TestEngineForgetsAMemberWhoseKeyChanged: a new key starts clean.
func TestEngineForgetsAMemberWhoseKeyChanged(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b", "c")
	d.msg(reportMsg("b", map[string]Opinion{"c": sus}))
	d.msg(heartbeatMsg("b", pb.State_STATE_LEAVING, 0))
	ms := slices.Clone(d.s.members)
	ms[1].PeerID = "new-key-of-b"
	d.step(func(s *engineState) { s.setMembers(ms) })
	if _, ok := d.s.reports["b"]; ok {
		t.Error("b's report signed with its old key kept")
	}
	if _, ok := d.s.hbAt["b"]; ok {
		t.Error("b's position under its old key kept")
	}
	if d.s.leaving["b"] {
		t.Error("b's leaving announce under its old key kept")
	}
}

// TestEngineTimingInPlace: a timing change needs no new engine, no new
// position and no leave: it takes effect at once and is announced.
func TestEngineTimingInPlace(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b")
	boot := d.s.boot
	d.step(func(s *engineState) {
		s.heartbeatEvery, s.suspectAfter = 2*time.Second, 10*time.Second
		s.send(s.announce(pb.State_STATE_RUNNING))
	})
	env := <-d.out
	hb := env.GetHeartbeat()
	if hb.GetHeartbeatMs() != 2000 || hb.GetSuspectAfterMs() != 10000 || env.GetHeader().GetBootId() != boot {
		t.Errorf("announce after the change = %v at boot %d; want 2000/10000 at boot %d", hb, env.GetHeader().GetBootId(), boot)
	}
	// b silent for 5 s: not suspected under the new suspect_after.
	d.ping("b", time.Millisecond)
	clock.Advance(5 * time.Second)
	d.s.evaluate()
	if r := d.lastReport(); r != nil && reportOpinions(r)["b"] == sus {
		t.Errorf("b suspected after 5 s with suspect_after 10s")
	}
}

// TestEngineDeaf: connected to members but no evidence of any: not healthy.
func TestEngineDeaf(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b")
	d.s.started = t0
	d.link("b", p2p.Link{Connected: true})
	if l := d.s.e.View().Local; !l.Healthy {
		t.Fatalf("local health at start = %+v; want healthy", l)
	}
	clock.Advance(4 * time.Second)
	d.s.evaluate()
	d.step(func(*engineState) {})
	if l := d.s.e.View().Local; l.Healthy {
		t.Errorf("local health after 4 s connected and deaf = %+v; want not healthy", l)
	}
	d.ping("b", time.Millisecond)
	if l := d.s.e.View().Local; !l.Healthy {
		t.Errorf("local health after a ping = %+v; want healthy", l)
	}
}

// TestPublishErrors: failures are counted by reason, raise one warning
// event per failing spell, and make local health not healthy until a
// publish succeeds.
func TestPublishErrors(t *testing.T) {
	clock := newFakeClock(t0)
	e, events := testEngine(t, clock.Now, nil, "a", "b")
	e.publishErrs.failed(classifyPublishError(errors.Join(errors.New("publish"), contextDeadline())), errors.New("no peer"))
	e.publishErrs.failed(PublishQueueFull, errQueueFull)
	if got := e.PublishErrorsBy(); got[PublishTimeout] != 1 || got[PublishQueueFull] != 1 || got[PublishOther] != 0 {
		t.Errorf("PublishErrorsBy() = %v", got)
	}
	if got := e.PublishErrors.Load(); got != 2 {
		t.Errorf("PublishErrors = %d; want 2", got)
	}
	if _, err := e.publishErrs.failing(); err == nil {
		t.Error("failing() = nil after failures")
	}
	warns := 0
	for _, ev := range events.List(nil) {
		if ev.Kind == "publish" && ev.Severity == SeverityWarning {
			warns++
		}
	}
	if warns != 1 {
		t.Errorf("%d publish warning events; want 1 per failing spell", warns)
	}
	e.publishErrs.succeeded()
	if _, err := e.publishErrs.failing(); err != nil {
		t.Errorf("failing() = %v after a success", err)
	}
}

// TestSyncFailedEvents: a failed sync exchange or push with a member
// raises a warning event naming it, at most one per member every
// PublishWarnEvery; another member gets its own, and a clock stepped back
// does not silence the next one.
func TestSyncFailedEvents(t *testing.T) {
	clock := newFakeClock(t0)
	e, events := testEngine(t, clock.Now, nil, "a", "b", "c")
	count := func(node string) int {
		n := 0
		for _, ev := range events.List(nil) {
			if ev.Kind == "sync" && ev.Severity == SeverityWarning && ev.Node == node &&
				strings.Contains(ev.Message, "stream reset") {
				n++
			}
		}
		return n
	}
	every := DefaultTiming().PublishWarnEvery
	steps := []struct {
		advance time.Duration
		node    string
		wantB   int
		wantC   int
	}{
		{0, "b", 1, 0},
		{every / 2, "b", 1, 0},  // within the minute: no second event
		{0, "c", 1, 1},          // another member: its own
		{every / 2, "b", 2, 1},  // a minute after the first
		{-time.Hour, "b", 3, 1}, // the clock stepped back
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		e.HandleSyncFailed(s.node, errors.New("stream reset"))
		if b, c := count("b"), count("c"); b != s.wantB || c != s.wantC {
			t.Fatalf("step %d: %d events for b and %d for c; want %d and %d", i, b, c, s.wantB, s.wantC)
		}
	}
}

func contextDeadline() error {
	ctx, cancel := context.WithDeadline(context.Background(), time.Unix(0, 0))
	defer cancel()
	<-ctx.Done()
	return ctx.Err()
}

// TestEngineIdentityClash: another host publishing with this node's key
// would make the two refute each other without end. After 3 refutes in a
// minute the node stops jumping, raises one error event, and reports
// itself not healthy; a minute later it refutes again.
func TestEngineIdentityClash(t *testing.T) {
	clock := newFakeClock(t0)
	d := newDriver(t, clock, "a", "b")
	for i := range 6 {
		m := heartbeatMsg("a", pb.State_STATE_RUNNING, 0)
		m.Env.Header.BootId = d.s.boot + 1
		d.msg(m)
		clock.Advance(time.Second)
		if i == 2 && d.s.e.Refutes.Load() != 3 {
			t.Fatalf("refutes after 3 clone messages = %d; want 3", d.s.e.Refutes.Load())
		}
	}
	if got := d.s.e.Refutes.Load(); got != 3 {
		t.Errorf("refutes after 6 clone messages in 6 s = %d; want 3 (then it stops)", got)
	}
	if got := d.s.e.Clashes.Load(); got != 1 {
		t.Errorf("clashes = %d; want 1", got)
	}
	errs := 0
	for _, ev := range d.events.List(nil) {
		if ev.Kind == "identity" && ev.Severity == SeverityError {
			errs++
		}
	}
	if errs != 1 {
		t.Errorf("%d identity error events; want 1", errs)
	}
	d.step(func(*engineState) {})
	if l := d.s.e.View().Local; l.Healthy || !strings.Contains(l.Reason, "key") {
		t.Errorf("local health during the clash = %+v; want not healthy, naming the key", l)
	}
	clock.Advance(2 * refuteWindow)
	m := heartbeatMsg("a", pb.State_STATE_RUNNING, 0)
	m.Env.Header.BootId = d.s.boot + 1
	d.msg(m)
	if got := d.s.e.Refutes.Load(); got != 4 {
		t.Errorf("refutes a window later = %d; want 4", got)
	}
}

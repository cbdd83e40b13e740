package notify

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meshmon/meshmon/p2p/pb"
)

func pendingIDs(l *Ledger) []string {
	var out []string
	for _, a := range l.Pending() {
		out = append(out, a.ID)
	}
	return out
}

func TestLedger(t *testing.T) {
	border := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	x := alertAt("x", KindOffline, border.Add(-time.Second)) // this node saw it just before a border
	leaderID := AlertID("net", "x", KindOffline, 1, border.Add(2*time.Second))
	if leaderID == x.ID {
		t.Fatal("test needs IDs on both sides of a border")
	}
	tests := []struct {
		name string
		run  func(l *Ledger) []string // returns pending IDs at the end
		want []string
	}{
		{"add makes pending", func(l *Ledger) []string {
			l.Add(t0, x)
			return pendingIDs(l)
		}, []string{x.ID}},
		{"adding twice keeps one", func(l *Ledger) []string {
			l.Add(t0, x)
			if added := l.Add(t0, x); len(added) != 0 {
				t.Errorf("second Add = %v; want none", added)
			}
			return pendingIDs(l)
		}, []string{x.ID}},
		{"delivered by exact ID", func(l *Ledger) []string {
			l.Add(t0, x)
			if !l.MarkDelivered(t0, x.ID) {
				t.Error("MarkDelivered(exact) = false")
			}
			if !l.IsDelivered(x.ID) {
				t.Error("IsDelivered = false")
			}
			return pendingIDs(l)
		}, nil},
		{"delivered by the neighbouring bucket's ID", func(l *Ledger) []string {
			l.Add(t0, x)
			if !l.MarkDelivered(t0, leaderID) {
				t.Error("MarkDelivered(alias) = false")
			}
			return pendingIDs(l)
		}, nil},
		{"delivered before this node saw the transition", func(l *Ledger) []string {
			l.MarkDelivered(t0, leaderID)
			if added := l.Add(t0, x); len(added) != 0 {
				t.Errorf("Add after Delivered = %v; want none", added)
			}
			return pendingIDs(l)
		}, nil},
		{"unrelated Delivered changes nothing", func(l *Ledger) []string {
			l.Add(t0, x)
			l.MarkDelivered(t0, AlertID("net", "x", KindOnline, 1, x.At))
			l.MarkDelivered(t0, AlertID("net", "x", KindOffline, 2, x.At))
			l.MarkDelivered(t0, AlertID("net", "x", KindOffline, 1, x.At.Add(time.Minute)))
			return pendingIDs(l)
		}, []string{x.ID}},
		{"one Delivered delivers one alert of a flap", func(l *Ledger) []string {
			second := x
			second.ID += "~2"
			second.At = x.At.Add(4 * time.Second)
			l.Add(t0, x, second)
			l.MarkDelivered(t0, x.ID)
			l.MarkDelivered(t0, x.ID) // gossip duplicate
			return pendingIDs(l)
		}, []string{x.ID + "~2"}},
		{"take hands out once; release returns", func(l *Ledger) []string {
			l.Add(t0, x)
			el := ElectionResult{Leader: "a", Live: []string{"a", "b"}}
			if got := l.Take("a", el, nil); len(got) != 1 {
				t.Errorf("Take = %v; want one", got)
			}
			if got := l.Take("a", el, nil); len(got) != 0 {
				t.Errorf("second Take = %v; want none", got)
			}
			if got := l.Sending(); len(got) != 1 {
				t.Errorf("Sending = %v; want one", got)
			}
			l.Release(x.ID)
			return pendingIDs(l)
		}, []string{x.ID}},
		{"give up", func(l *Ledger) []string {
			l.Add(t0, x)
			l.MarkSending(x.ID)
			l.GiveUp(x.ID)
			l.Release(x.ID)
			return pendingIDs(l)
		}, nil},
		{"expire forgets old alerts and delivered IDs", func(l *Ledger) []string {
			l.Add(t0, x)
			l.MarkDelivered(t0, "other")
			l.Expire(t0.Add(25 * time.Hour))
			if len(l.delivered) != 0 {
				t.Errorf("delivered after Expire = %d; want 0", len(l.delivered))
			}
			return pendingIDs(l)
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.run(NewLedger(0)); !slices.Equal(got, tt.want) {
				t.Errorf("pending = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestDeliveredIDIsPerCluster(t *testing.T) {
	w1 := NewCluster("net", NewWebhook("a", TypeDiscord, "https://example.invalid/1"))
	w2 := NewCluster("net", NewWebhook("b", TypeJSON, "https://example.invalid/2"))
	d := w1.Delivered("net/x/offline/1/5")
	if id, ok := w1.DeliveredAlert(d); !ok || id != "net/x/offline/1/5" {
		t.Errorf("DeliveredAlert(own) = %q, %v; want the alert ID", id, ok)
	}
	if id, ok := w2.DeliveredAlert(d); ok {
		t.Errorf("DeliveredAlert(other cluster) = %q, true; want false", id)
	}
	for _, bad := range []string{"", "x", "0123456789abcdef:", "short:net/x"} {
		if _, ok := w1.DeliveredAlert(&pb.Delivered{AlertId: bad}); ok {
			t.Errorf("DeliveredAlert(%q) ok", bad)
		}
	}
}

// A Delivered mark counts only from the alert's elected sender; marks for
// alerts not held yet are kept only when vetted; duplicates are silent.
func TestLedgerMarkRemote(t *testing.T) {
	x := alertAt("x", KindOffline, t0)
	senderIs := func(who string) func(Alert) bool { return func(Alert) bool { return who == "a" } }
	vetNone := func(string) Reason { return ReasonNotSender }
	vetAll := func(string) Reason { return "" }
	tests := []struct {
		name    string
		run     func(l *Ledger) (bool, Reason)
		applied bool
		why     Reason
		pending int
	}{
		{"from the sender", func(l *Ledger) (bool, Reason) {
			l.Add(t0, x)
			return l.MarkRemote(t0, x.ID, "a", senderIs("a"), vetNone)
		}, true, "", 0},
		{"from a member that is not the sender", func(l *Ledger) (bool, Reason) {
			l.Add(t0, x)
			return l.MarkRemote(t0, x.ID, "b", senderIs("b"), vetNone)
		}, false, ReasonNotSender, 1},
		{"from a former sender of the alert", func(l *Ledger) (bool, Reason) {
			l.Add(t0, x)
			l.Plan("c", ElectionResult{Leader: "b", Live: []string{"b", "c"}}, nil, TakeOptions{Now: t0})
			return l.MarkRemote(t0, x.ID, "b", func(Alert) bool { return false }, vetNone)
		}, true, "", 0},
		{"alias from a non-sender", func(l *Ledger) (bool, Reason) {
			l.Add(t0, x)
			return l.MarkRemote(t0, AlertID("net", "x", KindOffline, 1, t0.Add(-IDBucket/2)), "b", senderIs("b"), vetNone)
		}, false, ReasonNotSender, 1},
		{"forged future ID refused by the vet, alert still sent", func(l *Ledger) (bool, Reason) {
			applied, why := l.MarkRemote(t0, x.ID, "b", senderIs("b"), func(string) Reason { return ReasonFuture })
			l.Add(t0, x)
			return applied, why
		}, false, ReasonFuture, 1},
		{"vetted mark before the alert delivers it on Add", func(l *Ledger) (bool, Reason) {
			applied, why := l.MarkRemote(t0, x.ID, "a", senderIs("a"), vetAll)
			l.Add(t0, x)
			return applied, why
		}, false, "", 0},
		{"duplicate by sync and gossip is silent", func(l *Ledger) (bool, Reason) {
			l.Add(t0, x)
			l.MarkRemote(t0, x.ID, "a", senderIs("a"), vetNone)
			return l.MarkRemote(t0, x.ID, "a", senderIs("a"), vetNone)
		}, false, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLedger(0)
			applied, why := tt.run(l)
			if applied != tt.applied || why != tt.why || len(l.Pending()) != tt.pending {
				t.Errorf("MarkRemote = %v, %q with %d pending; want %v, %q with %d", applied, why, len(l.Pending()), tt.applied, tt.why, tt.pending)
			}
		})
	}
}

// The ledger holds at most MaxAlerts alerts and MaxUnknown unmatched
// marks; the oldest go first and are counted.
func TestLedgerBounds(t *testing.T) {
	tests := []struct {
		name                 string
		alerts, marks        int
		wantAlerts, wantUnkn int
		evictA, evictU       uint64
		firstKept            string
	}{
		{"within bounds", 3, 2, 3, 2, 0, 0, "n0"},
		{"alerts beyond the bound", 6, 0, 4, 0, 2, 0, "n2"},
		{"marks beyond the bound", 0, 5, 0, 3, 0, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLedgerWith(LedgerConfig{MaxAlerts: 4, MaxUnknown: 3})
			for i := range tt.alerts {
				at := t0.Add(time.Duration(i) * time.Second)
				l.Add(at, alertAt(fmt.Sprintf("n%d", i), KindOffline, at))
			}
			for i := range tt.marks {
				at := t0.Add(time.Duration(i) * time.Second)
				l.MarkDelivered(at, fmt.Sprintf("net/m%d/offline/1/1", i))
			}
			a, u := l.Len()
			ea, eu := l.Evicted()
			if a != tt.wantAlerts || u != tt.wantUnkn || ea != tt.evictA || eu != tt.evictU {
				t.Errorf("Len = %d, %d; Evicted = %d, %d; want %d, %d; %d, %d", a, u, ea, eu, tt.wantAlerts, tt.wantUnkn, tt.evictA, tt.evictU)
			}
			if p := l.Pending(); tt.firstKept != "" && (len(p) == 0 || p[0].Node != tt.firstKept) {
				t.Errorf("oldest kept = %+v; want %s", p, tt.firstKept)
			}
		})
	}
	// Unmatched marks expire after UnknownTTL, matched ones after the retention.
	l := NewLedger(0)
	l.MarkDelivered(t0, "net/m/offline/1/1")
	l.Expire(t0.Add(UnknownTTL + time.Second))
	if _, u := l.Len(); u != 0 {
		t.Errorf("unmatched marks after UnknownTTL = %d; want 0", u)
	}
}

func TestParseDeliveredIDLength(t *testing.T) {
	h := "0123456789abcdef"
	for _, tt := range []struct {
		id string
		ok bool
	}{
		{h + ":" + strings.Repeat("x", MaxAlertIDLen), true},
		{h + ":" + strings.Repeat("x", MaxAlertIDLen+1), false},
	} {
		if _, _, ok := ParseDeliveredID(tt.id); ok != tt.ok {
			t.Errorf("ParseDeliveredID(%d bytes) ok = %v; want %v", len(tt.id), ok, tt.ok)
		}
	}
}

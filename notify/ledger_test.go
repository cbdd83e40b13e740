package notify

import (
	"slices"
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

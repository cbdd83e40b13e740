//go:build linux

package chaos

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// alertRec is one alert as the sink received it.
type alertRec struct {
	At     time.Time // when the sink received the post
	SentBy string
	ID     string
	Node   string
	Kind   string
	From   string
	// Began is when the reported change happened by the sender's account:
	// the payload's until for a recovery, else its since (else its at).
	Began time.Time
}

// lateAfter is how long after the change it reports an alert may arrive
// and still be news: detection, the 3 s hold, and a recovery's hold of
// 5 × 3 s fit well within it; issue 12 saw alerts 55 s and 2–4 min late.
const lateAfter = 30 * time.Second

// late tells whether the alert arrived more than lateAfter after the
// change it reports.
func (a alertRec) late() bool {
	return !a.Began.IsZero() && a.At.Sub(a.Began) > lateAfter
}

// String is how alerts show in failure messages.
func (a alertRec) String() string {
	return fmt.Sprintf("%s %s→%s (id %s, sent by %s at %s, %.1fs after the change)", a.Node, a.From, a.Kind, a.ID,
		a.SentBy, a.At.Format("15:04:05.000"), a.At.Sub(a.Began).Seconds())
}

// jsonPayload is the generic webhook body (notify.JSONPayload, schema 1),
// decoded on its own so that the test checks the wire format.
type jsonPayload struct {
	Schema int    `json:"schema"`
	SentBy string `json:"sent_by"`
	Alerts []struct {
		ID    string    `json:"id"`
		Node  string    `json:"node"`
		Kind  string    `json:"kind"`
		From  string    `json:"from"`
		At    time.Time `json:"at"`
		Since time.Time `json:"since"`
		Until time.Time `json:"until"`
	} `json:"alerts"`
}

// sink is the webhook receiver every node posts its alerts to. It answers
// 204 to every post and records each alert.
type sink struct {
	t   testing.TB
	srv *http.Server

	// mu protects the following fields.
	mu     sync.Mutex
	posts  int
	alerts []alertRec
	bad    []string // posts that were not a schema-1 payload
}

// newSink returns a sink with no listener yet; it is closed when the test
// ends.
func newSink(t testing.TB) *sink {
	s := &sink{t: t}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.handle), ReadHeaderTimeout: 10 * time.Second}
	t.Cleanup(func() { s.srv.Close() })
	return s
}

// serve accepts posts on ln (several listeners may share one sink).
func (s *sink) serve(ln net.Listener) {
	go func() { _ = s.srv.Serve(ln) }()
}

// loopbackSink starts a sink on 127.0.0.1 and returns it with its URL.
func loopbackSink(t testing.TB) (*sink, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newSink(t)
	s.serve(ln)
	return s, "http://" + ln.Addr().String() + "/hook"
}

func (s *sink) handle(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var p jsonPayload
	if err == nil {
		err = json.Unmarshal(body, &p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posts++
	if err != nil || p.Schema != 1 || r.Method != http.MethodPost {
		s.bad = append(s.bad, fmt.Sprintf("%s %s: %v: %.200s", r.Method, r.URL.Path, err, body))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	for _, a := range p.Alerts {
		began := a.At
		switch {
		case a.Kind == "online" && !a.Until.IsZero():
			began = a.Until
		case !a.Since.IsZero():
			began = a.Since
		}
		s.alerts = append(s.alerts, alertRec{At: at, SentBy: p.SentBy, ID: a.ID, Node: a.Node, Kind: a.Kind, From: a.From, Began: began})
		s.t.Logf("sink: alert %s", s.alerts[len(s.alerts)-1])
	}
	w.WriteHeader(http.StatusNoContent)
}

// between returns the alerts received in [t1, t2].
func (s *sink) between(t1, t2 time.Time) []alertRec {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []alertRec
	for _, a := range s.alerts {
		if !a.At.Before(t1) && !a.At.After(t2) {
			out = append(out, a)
		}
	}
	return out
}

// all returns every alert received, and every post that was not a
// payload.
func (s *sink) all() ([]alertRec, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]alertRec(nil), s.alerts...), append([]string(nil), s.bad...)
}

// duplicates returns every alert ID received more than once, with its
// count: an alert must be sent once.
func duplicates(alerts []alertRec) map[string]int {
	n := map[string]int{}
	for _, a := range alerts {
		n[a.ID]++
	}
	for id, k := range n {
		if k < 2 {
			delete(n, id)
		}
	}
	return n
}

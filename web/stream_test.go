package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshmon/meshmon/health"
)

// sseMessage is one Server-Sent Events message.
type sseMessage struct {
	id, event, data string
}

// sseReader reads messages from a stream on its own goroutine, which ends
// when the stream does.
type sseReader struct {
	msgs chan sseMessage
	done chan error
}

func readSSE(body io.Reader) *sseReader {
	r := &sseReader{msgs: make(chan sseMessage, 256), done: make(chan error, 1)}
	go func() {
		defer close(r.msgs)
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var m sseMessage
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m.event != "" {
					r.msgs <- m
				}
				m = sseMessage{}
			case strings.HasPrefix(line, "id: "):
				m.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				m.event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				m.data = strings.TrimPrefix(line, "data: ")
			}
		}
		r.done <- sc.Err()
	}()
	return r
}

// next returns the next message of the given event type, skipping others.
func (r *sseReader) next(t *testing.T, event string) sseMessage {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-r.msgs:
			if !ok {
				t.Fatalf("stream ended while waiting for %q", event)
			}
			if m.event == event {
				return m
			}
		case <-deadline:
			t.Fatalf("no %q message within 10s", event)
		}
	}
}

// nextAny returns the next message, whatever its type.
func (r *sseReader) nextAny(t *testing.T) sseMessage {
	t.Helper()
	select {
	case m, ok := <-r.msgs:
		if !ok {
			t.Fatal("stream ended while waiting for a message")
		}
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no message within 10s")
	}
	return sseMessage{}
}

// ended waits for the stream to end.
func (r *sseReader) ended(t *testing.T) {
	t.Helper()
	for {
		select {
		case _, ok := <-r.msgs:
			if !ok {
				return
			}
		case <-time.After(10 * time.Second):
			t.Fatal("stream did not end within 10s")
		}
	}
}

// trackedServer is an httptest server over NewServer(d) that tells when
// each stream handler returns.
func trackedServer(t *testing.T, d Deps) (*httptest.Server, <-chan struct{}) {
	t.Helper()
	returned := make(chan struct{}, 16)
	h := NewServer(d)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.URL.Path == "/api/events/stream" {
			returned <- struct{}{}
		}
	}))
	t.Cleanup(srv.Close)
	return srv, returned
}

func waitReturned(t *testing.T, returned <-chan struct{}) {
	t.Helper()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("stream handler still running 10s after its end")
	}
}

func TestStreamSendsViewsAndEventsAndEndsWithItsClient(t *testing.T) {
	f := newFixture(t)
	srv, returned := trackedServer(t, f.full())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q; want text/event-stream", ct)
	}
	r := readSSE(resp.Body)

	var v health.View
	if err := json.Unmarshal([]byte(r.next(t, "view").data), &v); err != nil {
		t.Fatalf("view data: %v", err)
	}
	if v.Networks["prod"] == nil || len(v.Networks["prod"].Nodes) != 5 {
		t.Errorf("first view = %+v; want the prod network with 5 nodes", v)
	}
	r.next(t, "alive") // the view did not change: the stream says it is alive

	added := f.events.Add(health.Event{Network: "prod", Node: "server-03", Kind: "status",
		Severity: health.SeverityInfo, Message: "server-03 is online", From: health.StatusOffline, To: health.StatusOnline})
	m := r.next(t, "event")
	var got health.Event
	if err := json.Unmarshal([]byte(m.data), &got); err != nil {
		t.Fatalf("event data: %v", err)
	}
	if got.ID != added.ID || got.Message != added.Message || m.id != "31" {
		t.Errorf("event = %+v (id: %s); want %+v (id: 31)", got, m.id, added)
	}

	cancel()
	waitReturned(t, returned)
	r.ended(t)
}

func TestStreamEndsWhenServerStops(t *testing.T) {
	f := newFixture(t)
	done := make(chan struct{})
	d := f.full()
	d.Done = done
	d.StreamInterval = time.Hour // only the first view
	srv, returned := trackedServer(t, d)
	resp := get(t, srv.URL+"/api/events/stream", nil)
	defer resp.Body.Close()
	r := readSSE(resp.Body)
	r.next(t, "view")
	close(done)
	waitReturned(t, returned)
	r.ended(t)
}

// TestStreamShutdown: http.Server.Shutdown returns promptly when the node
// closes Done from RegisterOnShutdown, as docs/api.md tells it to.
func TestStreamShutdown(t *testing.T) {
	f := newFixture(t)
	done := make(chan struct{})
	d := f.full()
	d.Done = done
	srv := httptest.NewUnstartedServer(NewServer(d))
	srv.Config.RegisterOnShutdown(func() { close(done) })
	srv.Start()
	defer srv.Close()
	resp := get(t, srv.URL+"/api/events/stream", nil)
	defer resp.Body.Close()
	r := readSSE(resp.Body)
	r.next(t, "view")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Config.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	r.ended(t)
}

func TestStreamReplaysMissedEvents(t *testing.T) {
	f := newFixture(t)
	srv, returned := trackedServer(t, f.full())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events/stream", nil)
	req.Header.Set("Last-Event-ID", "27")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := readSSE(resp.Body)
	for _, want := range []string{"28", "29", "30"} {
		if m := r.next(t, "event"); m.id != want {
			t.Errorf("replayed event id = %s; want %s", m.id, want)
		}
	}
	r.next(t, "view")
	f.events.Add(health.Event{Kind: "config", Severity: health.SeverityInfo, Message: "reloaded"})
	if m := r.next(t, "event"); m.id != "31" {
		t.Errorf("live event id = %s; want 31", m.id)
	}
	cancel()
	waitReturned(t, returned)
	r.ended(t)
}

// TestStreamSendsAViewOnlyWhenItChanges: while the view says the same
// thing (only RTTs and ages move), the stream sends small "alive"
// messages; a changed status is sent as a view at the next tick.
func TestStreamSendsAViewOnlyWhenItChanges(t *testing.T) {
	f := newFixture(t)
	var cur atomic.Pointer[health.View]
	cur.Store(f.view)
	d := f.full()
	d.View = func() *health.View { return cur.Load() }
	srv, returned := trackedServer(t, d)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/api/events/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := readSSE(resp.Body)
	r.next(t, "view")

	// Only measurements change: no view, only alive messages.
	moved := copyView(t, f.view)
	moved.Networks["prod"].Nodes["server-02"].LastHeardMs = 977
	moved.Networks["prod"].UpdatedAt = moved.Networks["prod"].UpdatedAt.Add(3 * time.Second)
	cur.Store(moved)
	for range 5 {
		m := r.nextAny(t)
		if m.event != "alive" {
			t.Fatalf("message %q after a change of measurements only; want alive", m.event)
		}
	}

	// A status changes: the next view carries it.
	changed := copyView(t, moved)
	changed.Networks["prod"].Nodes["server-02"].Status = health.StatusOnline
	cur.Store(changed)
	var v health.View
	if err := json.Unmarshal([]byte(r.next(t, "view").data), &v); err != nil {
		t.Fatal(err)
	}
	if got := v.Networks["prod"].Nodes["server-02"].Status; got != health.StatusOnline {
		t.Errorf("server-02 in the new view = %s; want online", got)
	}
	cancel()
	waitReturned(t, returned)
}

// copyView deep-copies a view through JSON.
func copyView(t *testing.T, v *health.View) *health.View {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out health.View
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

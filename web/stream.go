package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/meshmon/meshmon/health"
	"github.com/meshmon/meshmon/history"
)

// streamBuffer is how many new events a slow stream client may fall behind
// before it misses some (it sees a gap in ids).
const streamBuffer = 64

// streamWriteTimeout bounds each write to a stream client, so a client
// that stops reading cannot hold its handler forever.
const streamWriteTimeout = 10 * time.Second

// streamRetry is the reconnection delay suggested to EventSource clients.
const streamRetry = 2 * time.Second

// handleEventStream serves /api/events/stream: Server-Sent Events carrying
// a view snapshot at once and every StreamInterval ("event: view"), and
// every new event ("event: event", with its id). It runs on the request's
// goroutine only and returns when the client goes away, a write fails, or
// Deps.Done is closed.
func handleEventStream(d Deps) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var lastID uint64
		if s := r.Header.Get("Last-Event-ID"); s != "" {
			n, err := strconv.ParseUint(s, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, (&badParam{"Last-Event-ID", s, "an event id (a whole number)"}).Error())
				return
			}
			lastID = n
		}
		var (
			events <-chan health.Event
			stop   = func() {}
		)
		if d.Events != nil {
			// Follow before listing, so no event falls between the two.
			events, stop = d.Events.Follow(streamBuffer)
		}
		defer stop()

		s := &sseWriter{w: w, rc: http.NewResponseController(w)}
		h := w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-store")
		h.Set("X-Accel-Buffering", "no")
		w.WriteHeader(http.StatusOK)
		s.retry(streamRetry)

		if lastID > 0 {
			for _, e := range d.missedEvents(lastID) {
				s.event(e)
				lastID = e.ID
			}
		}
		s.send("view", "", d.View())
		if s.err != nil {
			return
		}

		tick := time.NewTicker(d.StreamInterval)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-d.Done:
				return
			case e := <-events:
				if e.ID <= lastID {
					continue // already replayed
				}
				lastID = e.ID
				s.event(e)
			case <-tick.C:
				s.send("view", "", d.View())
			}
			if s.err != nil {
				return
			}
		}
	}
}

// maxReplay bounds the events a resumed stream replays.
const maxReplay = 1000

// missedEvents returns the events after lastID, oldest first: from the
// history store (events of earlier runs, and those the in-memory log no
// longer holds) and from the log (those not written yet), at most maxReplay
// (the newest).
func (d Deps) missedEvents(lastID uint64) []health.Event {
	var mem []health.Event
	if d.Events != nil {
		mem = d.Events.List(func(e health.Event) bool { return e.ID > lastID })
	}
	if rec, err := d.historyReader(); err == nil {
		if stored, err := rec.Store().Events(history.EventQuery{After: lastID, Limit: maxReplay}); err == nil {
			mem = mergeEvents(mem, stored)
		}
	}
	if len(mem) > maxReplay {
		mem = mem[:maxReplay]
	}
	slices.Reverse(mem)
	return mem
}

// sseWriter writes Server-Sent Events and flushes each one. After the first
// error it writes nothing more.
type sseWriter struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	buf bytes.Buffer
	err error
}

func (s *sseWriter) retry(d time.Duration) {
	s.buf.Reset()
	s.buf.WriteString("retry: " + strconv.FormatInt(d.Milliseconds(), 10) + "\n\n")
	s.flush()
}

func (s *sseWriter) event(e health.Event) {
	s.send("event", strconv.FormatUint(e.ID, 10), e)
}

// send writes one message whose data is v as JSON on a single line.
func (s *sseWriter) send(name, id string, v any) {
	if s.err != nil {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		s.err = err
		return
	}
	s.buf.Reset()
	if id != "" {
		s.buf.WriteString("id: " + id + "\n")
	}
	s.buf.WriteString("event: " + name + "\ndata: ")
	s.buf.Write(data) // JSON never contains a raw newline
	s.buf.WriteString("\n\n")
	s.flush()
}

func (s *sseWriter) flush() {
	if s.err != nil {
		return
	}
	if err := s.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.err = err
		return
	}
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		s.err = err
		return
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
	}
}

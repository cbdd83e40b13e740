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

// streamViewRefresh is how long the stream goes at most without a view
// when nothing but measurements (RTTs, heartbeat ages) changed.
const streamViewRefresh = 60 * time.Second

// handleEventStream serves /api/events/stream: Server-Sent Events carrying
// a view snapshot at once ("event: view"); then, every StreamInterval,
// either a new view if anything but measurements changed (or
// streamViewRefresh passed) or a small "event: alive" that tells the
// client the node still answers; and every new event ("event: event",
// with its id). An idle dashboard so costs a few bytes a second, not a
// view a second, and still notices within seconds a node that hangs. It
// runs on the request's goroutine only and returns when the client goes
// away, a write fails, or Deps.Done is closed.
//
// A client IP address may hold at most Deps.MaxStreamsPerClient streams at
// once; one more answers 429. The server's write timeout does not end a
// stream: each write sets its own deadline (net/http clears the read
// deadline itself once the request is read).
func handleEventStream(d Deps) http.HandlerFunc {
	limit := newStreamLimiter(d.MaxStreamsPerClient)
	return func(w http.ResponseWriter, r *http.Request) {
		release, ok := limit.acquire(r)
		if !ok {
			d.refuse(RefusedStreamLimit)
			w.Header().Set("Retry-After", strconv.Itoa(int(streamRetry.Seconds())))
			writeError(w, http.StatusTooManyRequests, "too many event streams from this address: close one first")
			return
		}
		defer release()
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
		s.view(d.View(), time.Now())
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
			case now := <-tick.C:
				s.view(d.View(), now)
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

	shape  []byte    // viewShape of the last view sent
	viewAt time.Time // when the last view was sent
}

// view sends v if it says something the last view sent did not, or the
// last one is streamViewRefresh old; otherwise it sends "alive".
func (s *sseWriter) view(v *health.View, now time.Time) {
	if s.err != nil {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		s.err = err
		return
	}
	shape, err := viewShape(data)
	if err != nil {
		s.err = err
		return
	}
	if s.shape != nil && bytes.Equal(shape, s.shape) && now.Sub(s.viewAt) < streamViewRefresh {
		s.raw("alive", "", []byte(`{"time":"`+now.UTC().Format(time.RFC3339Nano)+`"}`))
		return
	}
	s.shape, s.viewAt = shape, now
	s.raw("view", "", data)
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
	s.raw(name, id, data)
}

// raw writes one message whose data is JSON on a single line.
func (s *sseWriter) raw(name, id string, data []byte) {
	if s.err != nil {
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

package uitest

import (
	"net/http"
	"sync"
)

// freezer wraps a handler so a test can make the server hang the way a
// SIGSTOPped process does: while frozen, new requests get no answer and
// responses already streaming (the event stream) stop mid-way; the TCP
// connections stay open. thaw lets everything continue.
type freezer struct {
	next http.Handler

	// mu protects the following fields.
	mu     sync.Mutex
	frozen bool
	thawed chan struct{} // closed at thaw; replaced at freeze
}

func newFreezer(next http.Handler) *freezer {
	ch := make(chan struct{})
	close(ch)
	return &freezer{next: next, thawed: ch}
}

func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.frozen {
		f.frozen = true
		f.thawed = make(chan struct{})
	}
}

func (f *freezer) thaw() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen {
		f.frozen = false
		close(f.thawed)
	}
}

// wait blocks while the server is frozen, or until done is closed; it
// tells whether the server is thawed.
func (f *freezer) wait(done <-chan struct{}) bool {
	f.mu.Lock()
	ch := f.thawed
	f.mu.Unlock()
	select {
	case <-ch:
		return true
	case <-done:
		return false
	}
}

func (f *freezer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !f.wait(r.Context().Done()) {
		return
	}
	f.next.ServeHTTP(&frozenWriter{ResponseWriter: w, f: f, r: r}, r)
}

// frozenWriter holds writes and flushes while the server is frozen.
type frozenWriter struct {
	http.ResponseWriter
	f *freezer
	r *http.Request
}

func (w *frozenWriter) Write(b []byte) (int, error) {
	if !w.f.wait(w.r.Context().Done()) {
		return 0, http.ErrHandlerTimeout
	}
	return w.ResponseWriter.Write(b)
}

func (w *frozenWriter) Flush() {
	if !w.f.wait(w.r.Context().Done()) {
		return
	}
	if fl, ok := w.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

// Unwrap lets http.ResponseController reach the real writer.
func (w *frozenWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

package web

import (
	"net"
	"sync"
)

// limitListener accepts at most max connections at once. A connection
// beyond the cap is closed as soon as it is accepted (the client sees a
// reset or EOF at once rather than a hang) and counted by refused. The
// slot of a connection is freed when it is closed.
type limitListener struct {
	net.Listener
	max     int
	refused func()

	// mu protects the following fields.
	mu     sync.Mutex
	active int
}

// newLimitListener caps ln at max open connections; refused (may be nil)
// is called for each connection closed because of the cap.
func newLimitListener(ln net.Listener, max int, refused func()) *limitListener {
	return &limitListener{Listener: ln, max: max, refused: refused}
}

// Accept returns the next connection within the cap.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		ok := l.active < l.max
		if ok {
			l.active++
		}
		l.mu.Unlock()
		if ok {
			return &limitConn{Conn: c, release: l.release}, nil
		}
		_ = c.Close()
		if l.refused != nil {
			l.refused()
		}
	}
}

func (l *limitListener) release() {
	l.mu.Lock()
	l.active--
	l.mu.Unlock()
}

// limitConn frees its slot on the first Close.
type limitConn struct {
	net.Conn
	release func()
	once    sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

package web

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckInterval is how often, at most, the certificate files are
// looked at for a change (on a TLS handshake).
const certCheckInterval = time.Second

// certReloader serves a certificate from PEM files and reads them again
// when either changes (modification time or size), on the next handshake.
// A pair that fails to load (a renewal half written, a key that does not
// match) is logged and counted, and the previous certificate stays.
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time
	every             time.Duration
	// reloaded counts reload attempts by outcome ("ok" or "error").
	reloaded func(outcome string)

	// mu protects the following fields.
	mu        sync.Mutex
	cert      *tls.Certificate
	stamp     fileStamp // of the files cert was loaded from
	failed    fileStamp // of the files that last failed to load
	lastCheck time.Time
}

// fileStamp tells whether the certificate files changed.
type fileStamp struct {
	certMod, keyMod   time.Time
	certSize, keySize int64
}

// newCertReloader loads the pair once; an error here is the node's to
// report (it cannot serve TLS without a certificate).
func newCertReloader(certFile, keyFile string, log *slog.Logger, now func() time.Time, reloaded func(string)) (*certReloader, error) {
	c := &certReloader{certFile: certFile, keyFile: keyFile, log: log, now: now, every: certCheckInterval, reloaded: reloaded}
	st, err := c.statFiles()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: load %s and %s: %w", certFile, keyFile, err)
	}
	c.cert, c.stamp, c.lastCheck = &cert, st, now()
	return c, nil
}

func (c *certReloader) statFiles() (fileStamp, error) {
	ci, err := os.Stat(c.certFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls: cert_file: %w", err)
	}
	ki, err := os.Stat(c.keyFile)
	if err != nil {
		return fileStamp{}, fmt.Errorf("tls: key_file: %w", err)
	}
	return fileStamp{certMod: ci.ModTime(), keyMod: ki.ModTime(), certSize: ci.Size(), keySize: ki.Size()}, nil
}

// GetCertificate is tls.Config.GetCertificate.
func (c *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); now.Sub(c.lastCheck) >= c.every {
		c.lastCheck = now
		c.maybeReloadLocked()
	}
	return c.cert, nil
}

func (c *certReloader) maybeReloadLocked() {
	st, err := c.statFiles()
	if err != nil || st == c.stamp || st == c.failed {
		// A file missing for a moment (replaced by rename) is looked at
		// again on the next check.
		return
	}
	cert, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		c.failed = st
		c.log.Warn("tls certificate reload failed; serving the previous one", "cert_file", c.certFile, "err", err)
		if c.reloaded != nil {
			c.reloaded("error")
		}
		return
	}
	c.cert, c.stamp, c.failed = &cert, st, fileStamp{}
	c.log.Info("tls certificate reloaded", "cert_file", c.certFile)
	if c.reloaded != nil {
		c.reloaded("ok")
	}
}

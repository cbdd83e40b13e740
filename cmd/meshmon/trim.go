package main

import (
	"context"
	"log/slog"
	"time"
)

// Trimming the executable's pages (trim_linux.go): when, and how often.
const (
	// trimFirstAfter lets start-up run first: the pages it touched once
	// (flag parsing, config decoding, libp2p's set-up) are the ones to drop.
	trimFirstAfter = 30 * time.Second
	// trimEvery drops again the pages touched since only now and then.
	trimEvery = 10 * time.Minute
)

// trimLoop drops this process's mappings of its executable's read-only
// pages after start-up and then every trimEvery, until ctx ends (see
// trimExecutablePages). Pages the node keeps using fault straight back in
// from the page cache; those it touched once stop counting in its RSS.
func trimLoop(ctx context.Context, log *slog.Logger) {
	t := time.NewTimer(trimFirstAfter)
	defer t.Stop()
	first := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		before, after, err := trimExecutablePages()
		switch {
		case err != nil:
			log.Warn("executable pages not trimmed; RSS stays higher", "err", err)
			return
		case first:
			log.Info("trimmed executable pages from RSS", "file_rss_kib_before", before>>10, "file_rss_kib_after", after>>10)
		default:
			log.Debug("trimmed executable pages from RSS", "file_rss_kib_before", before>>10, "file_rss_kib_after", after>>10)
		}
		first = false
		t.Reset(trimEvery)
	}
}

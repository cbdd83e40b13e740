//go:build !linux

package main

import "log/slog"

// stepDown does nothing outside Linux: the image is linux-only, and other
// systems have no setuid that applies to every thread of a Go program.
func stepDown(*slog.Logger, string, string) error { return nil }

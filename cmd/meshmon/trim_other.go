//go:build !linux

package main

import "errors"

// trimExecutablePages is Linux-only (trim_linux.go).
func trimExecutablePages() (before, after int64, err error) {
	return 0, 0, errors.New("trimming executable pages is only done on Linux")
}

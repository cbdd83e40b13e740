//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "wirebench: needs Linux (network namespaces, iptables)")
	os.Exit(1)
}

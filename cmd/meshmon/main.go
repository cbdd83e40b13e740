// Command meshmon is a decentralised uptime monitor: every node of a network
// watches every other node, the nodes agree on who is up, and the agreed view
// is served over HTTP. Run `meshmon --help`.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "meshmon:", err)
		os.Exit(exitCode(err))
	}
}

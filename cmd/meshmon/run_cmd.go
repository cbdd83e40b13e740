package main

import (
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/meshmon/meshmon/node"
)

func runFlags() []cli.Flag {
	flags := append(configFlags(),
		&cli.StringFlag{Name: "http-listen", EnvVars: []string{"MESHMON_HTTP_LISTEN"},
			Usage: "HTTP listen address (default: nodeconf listen.http, else \":8000\")"},
		&cli.StringSliceFlag{Name: "p2p-listen", EnvVars: []string{"MESHMON_P2P_LISTEN"},
			Usage: "libp2p listen multiaddr, repeatable (default: nodeconf listen.p2p, else TCP and QUIC on port 4001, IPv4 and IPv6)"},
		&cli.StringSliceFlag{Name: "p2p-announce", EnvVars: []string{"MESHMON_P2P_ANNOUNCE"},
			Usage: "multiaddr told to peers instead of the listen addresses, repeatable (e.g. the host's address when in Docker)"},
		&cli.StringFlag{Name: "pprof-listen", EnvVars: []string{"MESHMON_PPROF_LISTEN"},
			Usage: "serve Go runtime profiles at /debug/pprof/ on this loopback host:port, e.g. 127.0.0.1:6060 (default: off)"},
	)
	return append(flags, historyFlags()...)
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:   "run",
		Usage:  "run a node (the default command)",
		Flags:  runFlags(),
		Action: runAction,
	}
}

// runAction copies flags into node.Options and runs the node until a signal.
func runAction(c *cli.Context) error {
	log, err := newLogger(c.App.ErrWriter, c.String("log-level"))
	if err != nil {
		return err
	}
	// Before anything else: leave root (stepdown.go).
	if err := stepDown(log, c.String("config-dir"), c.String("config-file")); err != nil {
		return err
	}
	profiling := c.String("pprof-listen") != ""
	if profiling {
		ln, err := pprofListener(c.String("pprof-listen"))
		if err != nil {
			return err
		}
		go servePprof(c.Context, log, ln)
	}
	rm := tuneRuntimeMemory(os.Getenv, profiling)
	log.Info("runtime memory settings", "gc_percent", rm.GCPercent, "gogc_from_env", rm.GCFromEnv, "mem_profile_rate", rm.MemProfileRate)
	retention, err := retentionOf(c)
	if err != nil {
		return err
	}
	n, err := node.New(c.Context, node.Options{
		ConfigDir:   c.String("config-dir"),
		ConfigFile:  c.String("config-file"),
		HTTPListen:  c.String("http-listen"),
		P2PListen:   nonEmpty(c.StringSlice("p2p-listen")),
		P2PAnnounce: nonEmpty(c.StringSlice("p2p-announce")),
		Logger:      log,
		DataDir:     c.String("data-dir"),
		History:     node.HistoryOptions{Retention: retention},
		StatusPage:  c.Bool("status-page"),
	})
	if err != nil {
		if c.Context.Err() != nil {
			// A stop signal during the start (a slow first clone, say):
			// nothing was joined, so there is nothing to leave.
			log.Info("stopped during the start, before joining any network")
			return nil
		}
		return err
	}
	go trimLoop(c.Context, log)
	err = n.Run(c.Context)
	if err == nil && c.Context.Err() != nil {
		// Run sent every network a leaving heartbeat before it returned.
		log.Info("left every network on the stop signal")
	}
	return err
}

// nonEmpty drops empty entries, so an empty MESHMON_P2P_ANNOUNCE= (as a
// compose file may set) means "not set" rather than an invalid address.
func nonEmpty(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

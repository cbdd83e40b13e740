package main

import (
	"github.com/urfave/cli/v2"

	"github.com/meshmon/meshmon/node"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run a live local network of real nodes in one process (dashboard on the first node)",
		// No step down from root: demo writes only its own temporary dirs.
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "nodes", Value: 5, Usage: "how many nodes"},
			&cli.StringFlag{Name: "http-listen", Value: ":8000", EnvVars: []string{"MESHMON_HTTP_LISTEN"},
				Usage: "HTTP address of the first node (the others take free loopback ports)"},
			&cli.StringFlag{Name: "log-level", Value: "WARN", EnvVars: []string{"LOG_LEVEL"}, Usage: "log level of the nodes"},
		},
		Action: func(c *cli.Context) error {
			log, err := newLogger(c.App.ErrWriter, c.String("log-level"))
			if err != nil {
				return err
			}
			return node.RunDemo(c.Context, node.DemoOptions{
				Nodes:      c.Int("nodes"),
				HTTPListen: c.String("http-listen"),
				Logger:     log,
				Out:        c.App.Writer,
			})
		},
	}
}

package main

import (
	"github.com/urfave/cli/v2"

	"github.com/meshmon/meshmon/node"
)

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "inspect configuration",
		Subcommands: []*cli.Command{{
			Name:  "check",
			Usage: "validate nodeconf and every network config; exit 1 listing every problem with file, line and field",
			Flags: configFlags(),
			Action: func(c *cli.Context) error {
				return node.CheckConfig(c.String("config-dir"), c.String("config-file"), c.App.Writer)
			},
		}},
	}
}

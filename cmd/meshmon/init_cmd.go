package main

import (
	"github.com/urfave/cli/v2"

	"github.com/meshmon/meshmon/node"
)

func initCommand() *cli.Command {
	return &cli.Command{
		Name:  "init",
		Usage: "write a starter nodeconf.yml for a node joining a network (never overwrites one), and print what to do next",
		Flags: append(configFlags(),
			&cli.StringFlag{Name: "node-id", Required: true,
				Usage: "this node's node_id in the network"},
			&cli.StringFlag{Name: "network", Required: true,
				Usage: "the network's directory, config/networks/<network>"},
			&cli.StringFlag{Name: "git-repo",
				Usage: "repository holding the network's config.yml and pubkeys/ (git mode; default: local mode)"},
			&cli.StringFlag{Name: "git-ref",
				Usage: "branch or tag of --git-repo to follow (default: the repository's default branch)"},
		),
		Before: stepDownBefore,
		Action: func(c *cli.Context) error {
			return node.Init(node.InitOptions{
				ConfigDir:  c.String("config-dir"),
				ConfigFile: c.String("config-file"),
				NodeID:     c.String("node-id"),
				Network:    c.String("network"),
				GitRepo:    c.String("git-repo"),
				GitRef:     c.String("git-ref"),
			}, c.App.Writer)
		},
	}
}

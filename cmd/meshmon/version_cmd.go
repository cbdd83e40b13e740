package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/meshmon/meshmon/version"
)

func versionCommand() *cli.Command {
	return &cli.Command{
		Name:  "version",
		Usage: "print version and commit",
		Action: func(c *cli.Context) error {
			_, err := fmt.Fprintf(c.App.Writer, "meshmon %s (commit %s)\n", version.Version, version.Commit)
			return err
		},
	}
}

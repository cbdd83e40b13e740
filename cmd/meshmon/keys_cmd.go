package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/meshmon/meshmon/node"
)

func keysCommand() *cli.Command {
	return &cli.Command{
		Name:  "keys",
		Usage: "manage this node's key",
		Subcommands: []*cli.Command{{
			Name:   "show",
			Usage:  "print this node's peer ID and public key PEM (creating the key on first use)",
			Flags:  configFlags(),
			Before: stepDownBefore,
			Action: func(c *cli.Context) error {
				k, err := node.ShowKey(c.String("config-dir"))
				if err != nil {
					return err
				}
				switch {
				case k.Created:
					fmt.Fprintf(c.App.ErrWriter, "created %s\n", k.Path)
				case k.Adopted != "":
					fmt.Fprintf(c.App.ErrWriter, "adopted %s as %s\n", k.Adopted, k.Path)
				}
				_, err = fmt.Fprintf(c.App.Writer, "peer_id: %s\n%s", k.PeerID, k.PublicKeyPEM)
				return err
			},
		}},
	}
}

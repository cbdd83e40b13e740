package main

import (
	"context"
	"errors"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/meshmon/meshmon/version"
)

// run builds the CLI and runs it with args; tests call it directly.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	app := &cli.App{
		Name:    "meshmon",
		Usage:   "decentralised uptime monitor: nodes watch each other over libp2p and agree on who is up",
		Version: version.String(),
		Description: "Started as root (as in the Docker image), run, init, keys show and demo first switch to the\n" +
			"owner of the config dir, or to uid 10001 when root owns it; set MESHMON_RUN_AS_ROOT=1 to stay root.",
		Writer:    stdout,
		ErrWriter: stderr,
		// Without a subcommand meshmon runs a node, as the Docker image does.
		Flags:  runFlags(),
		Action: runAction,
		Commands: []*cli.Command{
			runCommand(),
			demoCommand(),
			keysCommand(),
			configCommand(),
			initCommand(),
			healthcheckCommand(),
			versionCommand(),
			statusCommand(),
		},
		HideVersion:    false,
		ExitErrHandler: func(*cli.Context, error) {},
	}
	return app.RunContext(ctx, args)
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

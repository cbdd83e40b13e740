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
		Description: "Started as root on a host, meshmon stays root, changes the owner of no file and logs that a\n" +
			"service user is recommended. In the Docker image (which sets MESHMON_STEP_DOWN=1), run, init and keys\n" +
			"show first switch to the owner of the config dir, or to uid 10001 when root owns it;\n" +
			"MESHMON_RUN_AS_ROOT=1 keeps root there. demo never switches user.",
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

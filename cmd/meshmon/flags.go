package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/urfave/cli/v2"
)

// configFlags are shared by every command that reads a config dir.
func configFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "config-dir", Value: "./config", EnvVars: []string{"MESHMON_CONFIG_DIR"},
			Usage: "directory holding nodeconf.yml, .private_keys/ and networks/"},
		&cli.StringFlag{Name: "config-file", Value: "nodeconf.yml", EnvVars: []string{"CONFIG_FILE_NAME"},
			Usage: "name of the node configuration file inside --config-dir"},
		&cli.StringFlag{Name: "log-level", Value: "INFO", EnvVars: []string{"LOG_LEVEL"},
			Usage: "DEBUG, INFO, WARN or ERROR"},
	}
}

// newLogger returns a text logger at the named level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	switch strings.ToUpper(strings.TrimSpace(level)) {
	case "DEBUG":
		l = slog.LevelDebug
	case "INFO", "":
		l = slog.LevelInfo
	case "WARN", "WARNING":
		l = slog.LevelWarn
	case "ERROR", "CRITICAL":
		l = slog.LevelError
	default:
		return nil, fmt.Errorf("log level %q: want DEBUG, INFO, WARN or ERROR", level)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

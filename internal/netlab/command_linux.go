//go:build linux

package netlab

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// CmdTimeout bounds every command Command runs.
const CmdTimeout = 30 * time.Second

// Command runs name with args (within CmdTimeout) and returns its trimmed
// combined output; the error carries the command line and the output.
func Command(ctx context.Context, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, CmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		return s, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, s)
	}
	return s, nil
}

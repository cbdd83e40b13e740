//go:build linux

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "wirebench:", err)
		os.Exit(1)
	}
}

// options are wirebench's flags.
type options struct {
	meshmon, serf string
	systems       string
	ns            string
	cfg           config
	logLevel      string
	meshmonQUIC   bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("wirebench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.meshmon, "meshmon", "bin/meshmon", "the meshmon binary to measure")
	fs.StringVar(&o.serf, "serf", "bin/bench-cache/serf", "the serf binary to compare with (make bench installs v0.11.0 there)")
	fs.StringVar(&o.systems, "systems", "serf,meshmon", "systems to run, comma-separated: serf, meshmon")
	fs.StringVar(&o.ns, "n", "10,30", "network sizes, comma-separated (each at least 3)")
	fs.DurationVar(&o.cfg.Window, "window", 60*time.Second, "steady-state window over which bytes and CPU are measured")
	fs.DurationVar(&o.cfg.Settle, "settle", 10*time.Second, "pause after convergence, before the window, for the startup burst to pass")
	fs.IntVar(&o.cfg.Rounds, "rounds", 3, "hung and crash measurements per system and N (0: none)")
	fs.DurationVar(&o.cfg.ConvergeTimeout, "converge-timeout", 3*time.Minute, "how long to wait for every node to see every node up after start")
	fs.DurationVar(&o.cfg.DetectTimeout, "detect-timeout", time.Minute, "how long to wait for the survivors to see a failed node down")
	fs.DurationVar(&o.cfg.RecoverTimeout, "recover-timeout", 2*time.Minute, "how long to wait for all up again after a detection round")
	fs.DurationVar(&o.cfg.RoundSettle, "round-settle", 5*time.Second, "pause after every node sees every node up again, before the next failure")
	fs.DurationVar(&o.cfg.PollInterval, "poll-interval", 100*time.Millisecond, "pause between sweeps of status polls")
	fs.IntVar(&o.cfg.PollParallel, "poll-parallel", 4, "status polls in flight at once")
	fs.StringVar(&o.cfg.WorkDir, "workdir", "", "directory for configs and logs (default: a new temp dir, removed at the end)")
	fs.StringVar(&o.cfg.ProfileDir, "profile", "", "write CPU (over the window), heap and goroutine profiles of meshmon's node00 to this directory")
	fs.StringVar(&o.logLevel, "log-level", "WARN", "LOG_LEVEL of the meshmon nodes")
	fs.BoolVar(&o.meshmonQUIC, "meshmon-quic", true, "meshmon nodes listen on QUIC as well as TCP (the default); false: TCP only")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	for _, f := range strings.Split(o.ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 3 || n > maxNodes {
			return nil, fmt.Errorf("-n %q: want sizes from 3 to %d", o.ns, maxNodes)
		}
		o.cfg.Ns = append(o.cfg.Ns, n)
	}
	if o.cfg.Window < time.Second {
		return nil, fmt.Errorf("-window %s: want at least 1s", o.cfg.Window)
	}
	return o, nil
}

// run measures every system at every N in turn (never two at once, so they
// do not share the CPU) and prints the table.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s wirebench: %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	o.cfg.Logf = logf
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces, iptables)")
	}
	for _, tool := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("needs %s (apt-get install iproute2 iptables): %w", tool, err)
		}
	}
	var systems []system
	var names []string
	for _, s := range strings.Split(o.systems, ",") {
		switch strings.TrimSpace(s) {
		case "serf":
			bin, err := filepath.Abs(o.serf)
			if err != nil {
				return err
			}
			if _, err := os.Stat(bin); err != nil {
				return fmt.Errorf("serf binary: %w (make bench installs it)", err)
			}
			systems = append(systems, &serfSystem{bin: bin})
		case "meshmon":
			bin, err := filepath.Abs(o.meshmon)
			if err != nil {
				return err
			}
			if _, err := os.Stat(bin); err != nil {
				return fmt.Errorf("meshmon binary: %w (make build)", err)
			}
			pprofNode := -1
			if o.cfg.ProfileDir != "" {
				pprofNode = 0
				if err := os.MkdirAll(o.cfg.ProfileDir, 0o755); err != nil {
					return err
				}
			}
			systems = append(systems, &meshmonSystem{bin: bin, logLevel: o.logLevel, quic: o.meshmonQUIC, pprofNode: pprofNode})
		default:
			return fmt.Errorf("-systems: unknown system %q (serf, meshmon)", s)
		}
		names = append(names, systems[len(systems)-1].Name())
	}
	if o.cfg.WorkDir == "" {
		dir, err := os.MkdirTemp("", "wirebench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.cfg.WorkDir = dir
	}
	removeLeftovers(ctx, logf)

	var results []*result
	var errs []error
	for _, n := range o.cfg.Ns {
		for _, sys := range systems {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := measure(ctx, o.cfg, sys, n)
			if err != nil {
				err = fmt.Errorf("%s N=%d: %w", sys.Name(), n, err)
				logf("%v", err)
				errs = append(errs, err)
				if r == nil {
					continue
				}
			}
			results = append(results, r)
		}
	}
	fmt.Fprintf(stdout, "\nwirebench %s, %s, %d CPUs, load average %.2f; window %s after %s settle; %d detection rounds; default timing of each system\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.GOARCH, runtime.NumCPU(), loadAvg(), o.cfg.Window, o.cfg.Settle, o.cfg.Rounds)
	for _, sys := range systems {
		fmt.Fprintf(stdout, "- %s: %s\n", sys.Name(), sys.Version(ctx))
	}
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, renderTable(results, names, o.cfg.Ns))
	fmt.Fprintln(stdout)
	fmt.Fprint(stdout, renderDetails(results))
	return errors.Join(errs...)
}

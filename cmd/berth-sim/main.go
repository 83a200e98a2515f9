//go:debug randseednop=0

// Command berth-sim replays a workload through the real kube-scheduler with berth's
// plugins, under several configurations, in virtual time and deterministically. See
// docs/simulator.md and cmd/berth-sim/app.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"

	"github.com/berth-sched/berth/cmd/berth-sim/app"
	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/pkg/plugins"
)

func main() {
	quietKlog()
	if os.Getenv(sim.WorkerEnv) == "1" {
		os.Exit(sim.WorkerMain(plugins.Registry()))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := app.NewCommand(&app.Options{Out: os.Stdout, Err: os.Stderr, CommandLine: os.Args})
	if err := cmd.ExecuteContext(ctx); err != nil && !errors.Is(err, app.ErrVersionShown) {
		fmt.Fprintln(os.Stderr, "berth-sim:", err)
		os.Exit(1)
	}
}

// quietKlog keeps the scheduler's informational logs (it logs every plugin default it
// applies) off the terminal; errors still show.
func quietKlog() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("alsologtostderr", "false")
	_ = fs.Set("stderrthreshold", "ERROR")
	klog.SetOutput(discard{})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

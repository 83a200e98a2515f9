// Command berth-local runs berth on a local control plane for people with no cluster:
// `make run`. See cmd/berth-local/app.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/berth-sched/berth/cmd/berth-local/app"
)

func main() {
	self, _ := os.Executable()
	o := app.Options{Out: os.Stdout}
	flag.StringVar(&o.SchedulerBinary, "scheduler", filepath.Join(filepath.Dir(self), "berth-scheduler"), "berth-scheduler binary to run")
	flag.StringVar(&o.WorkDir, "workdir", "", "directory for the kubeconfig, configuration and logs (default: a new temporary directory)")
	flag.IntVar(&o.Nodes, "nodes", 3, "number of simulated nodes")
	flag.BoolVar(&o.Once, "once", false, "print the placement table and exit")
	flag.DurationVar(&o.SettleTimeout, "settle-timeout", 60*time.Second, "how long to wait for the demo pods to be placed")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := app.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "berth-local:", err)
		os.Exit(1)
	}
}

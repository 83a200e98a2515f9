// Package app is berth-sim's command line: run (replay and compare), explain (one pod's
// attempts) and diff (two results). The engine, the workloads and the reports are
// internal/sim's; this package only reads flags and hands them on.
package app

import (
	"io"
	"os/exec"

	"github.com/spf13/cobra"

	"github.com/berth-sched/berth/pkg/version"
)

// Options are what the command needs from its process.
type Options struct {
	// Out receives tables and reports; Err the progress line.
	Out, Err io.Writer
	// WorkerCommand starts a worker process (nil: this executable again).
	WorkerCommand func() (*exec.Cmd, error)
	// CommandLine is recorded in manifest.json.
	CommandLine []string
}

// NewCommand is berth-sim's root command.
func NewCommand(o *Options) *cobra.Command {
	root := &cobra.Command{
		Use:   "berth-sim",
		Short: "Replay a workload through the real kube-scheduler with berth's plugins, under several configurations, deterministically",
		Long: `berth-sim replays a workload (a scenario file or a cluster trace) through the real
kube-scheduler, with berth's plugins, in virtual time: pods arrive and end at their
times, and a day of trace takes seconds. It compares configurations and sweeps of
plugin arguments on the same workload, explains any pod's placement, and compares
two results. See docs/simulator.md.`,
		Version:       version.String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(o.Out)
	root.SetErr(o.Err)
	root.AddCommand(newRunCommand(o), newExplainCommand(o), newDiffCommand(o))
	return root
}

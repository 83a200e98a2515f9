// Package app is berth-sim's command line: run (replay and compare), explain (one pod's
// attempts) and diff (two results). The engine, the workloads and the reports are
// internal/sim's; this package only reads flags and hands them on.
package app

import (
	"errors"
	"fmt"
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
		SilenceUsage:  true,
		SilenceErrors: true,
		// A bare berth-sim prints its help. Being runnable also makes cobra run
		// PersistentPreRunE, which answers --version.
		RunE: func(c *cobra.Command, _ []string) error { return c.Help() },
		PersistentPreRunE: func(c *cobra.Command, _ []string) error {
			if v, _ := c.Flags().GetBool(versionFlag); v {
				fmt.Fprintln(c.OutOrStdout(), version.String())
				return ErrVersionShown
			}
			return nil
		},
	}
	// Not cobra's Version field: cobra also merges pflag.CommandLine into the root's
	// flags, and a scheduler package linked in registers component-base's verflag
	// --version there (not a bool), so cobra's own handling failed on every bare
	// invocation. Declaring a bool --version first keeps verflag's out, as pflag adds
	// a flag set only under names not yet taken.
	root.PersistentFlags().Bool(versionFlag, false, "print berth-sim's version (berth's and the kube-scheduler's it embeds) and exit")
	root.SetOut(o.Out)
	root.SetErr(o.Err)
	root.AddCommand(newRunCommand(o), newExplainCommand(o), newDiffCommand(o))
	return root
}

const versionFlag = "version"

// ErrVersionShown ends a command line that asked for --version: the version has been
// printed and nothing else runs. The caller exits 0 on it.
var ErrVersionShown = errors.New("version shown")

package app

import (
	"github.com/spf13/cobra"

	"github.com/berth-sched/berth/internal/sim/report"
)

func newDiffCommand(o *Options) *cobra.Command {
	var runA, runB string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff DIR_A [DIR_B] [--run-a NAME] [--run-b NAME]",
		Short: "Compare two runs: the pods placed differently and each figure's change",
		Long: `diff compares two runs written by run --out: two directories (each with one run, or
with --run-a/--run-b naming the run), or two runs of one directory. It lists the pods
placed differently and, for every figure, B − A.`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a := report.Side{Dir: args[0], Run: runA}
			b := report.Side{Dir: args[0], Run: runB}
			if len(args) == 2 {
				b.Dir = args[1]
			}
			c, err := report.Diff(a, b)
			if err != nil {
				return err
			}
			if asJSON {
				return c.WriteJSON(o.Out)
			}
			return c.WriteText(o.Out)
		},
	}
	cmd.Flags().StringVar(&runA, "run-a", "", "the run of DIR_A (needed when it holds several)")
	cmd.Flags().StringVar(&runB, "run-b", "", "the run of DIR_B, or of DIR_A when only one directory is given")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the comparison as JSON")
	return cmd
}

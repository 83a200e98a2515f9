package app

import (
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/internal/sim/report"
)

// progressAfter is how long a comparison runs before its progress line appears.
const progressAfter = 2 * time.Second

func newRunCommand(o *Options) *cobra.Command {
	var in inputs
	var out string
	var parallel int
	var overwrite bool
	cmd := &cobra.Command{
		Use:   "run (--scenario FILE | --trace openb:NODES.csv,PODS.csv) [--config FILE|default|berth ...] [--sweep Plugin.path=V1,V2 ...]",
		Short: "Replay a workload under each configuration and compare the runs",
		Long: `run replays one workload through the real kube-scheduler, with berth's plugins, once
per configuration and sweep value, in virtual time, and prints one table comparing the
runs. Runs are deterministic: the same workload, configurations and --seed give the
same placements, bit for bit (compare the placement hashes).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if parallel < 1 {
				return fmt.Errorf("--parallel must be at least 1, got %d", parallel)
			}
			if out != "" {
				// Refuse a directory in the way before the replay, not after it.
				if _, err := report.CheckDir(out, report.WriteOptions{Overwrite: overwrite}); err != nil {
					return err
				}
			}
			w, source, err := in.loadWorkload()
			if err != nil {
				return err
			}
			runs, err := in.plan(ctx, "")
			if err != nil {
				return err
			}
			jobs := make([]sim.Job, len(runs))
			for i, r := range runs {
				jobs[i] = r.job
			}
			bar := newProgress(o.Err)
			defer bar.finish()
			results, err := sim.RunParallel(ctx, w, jobs, sim.ParallelOptions{Parallel: parallel, Command: o.WorkerCommand, Progress: bar.update})
			bar.finish()
			if err != nil {
				return err
			}
			reportRuns := make([]report.Run, len(runs))
			for i, r := range runs {
				reportRuns[i] = report.Run{Name: r.job.Name, Config: r.config, Sweep: r.sweep, Seed: in.seed, Result: results[i]}
			}
			metrics, err := report.MeasureAll(w, reportRuns, report.MeasureOptions{})
			if err != nil {
				return err
			}
			if err := report.WriteTable(o.Out, reportRuns, metrics); err != nil {
				return err
			}
			if out == "" {
				return nil
			}
			manifest, err := report.NewManifest(source, w, o.CommandLine)
			if err != nil {
				return err
			}
			configs, _ := in.loadConfigs()
			for _, c := range configs {
				manifest.Configs = append(manifest.Configs, report.ConfigSourceOf(c.name, c.data))
			}
			manifest.Sweeps, manifest.Seed, manifest.Parallel = in.sweeps, in.seed, parallel
			if err := report.WriteDir(out, w, reportRuns, metrics, manifest, report.WriteOptions{Overwrite: overwrite}); err != nil {
				return err
			}
			fmt.Fprintf(o.Out, "\nresults written to %s\n", out)
			return nil
		},
	}
	in.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&out, "out", "", "write results.json, results.csv, placements.jsonl, manifest.json and chart.svg to this directory (atomically)")
	cmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace --out if it exists and is not empty")
	cmd.Flags().IntVar(&parallel, "parallel", runtime.NumCPU(), "runs at a time, each in its own process (at least 1)")
	return cmd
}

// progress is the progress line on stderr: it appears once a comparison has run for
// progressAfter, so short ones print nothing but their table. It shows its own rate:
// the bar, created late, would count every pod done before it as done in an instant.
type progress struct {
	out   io.Writer
	start time.Time
	bar   *progressbar.ProgressBar
}

func newProgress(out io.Writer) *progress { return &progress{out: out, start: time.Now()} }

func (p *progress) update(done, total int) {
	elapsed := time.Since(p.start)
	description := "replaying, " + rateText(done, elapsed)
	if p.bar == nil {
		if elapsed < progressAfter {
			return
		}
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(p.out),
			progressbar.OptionSetDescription(description),
			progressbar.OptionShowCount(),
			progressbar.OptionSetElapsedTime(false),
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	_ = p.bar.Set(done)
	p.bar.Describe(description)
}

// rateText is the replay's rate: pods done per wall-clock second since it started.
func rateText(done int, elapsed time.Duration) string {
	if elapsed <= 0 {
		return "0 pods/s"
	}
	return fmt.Sprintf("%.0f pods/s", float64(done)/elapsed.Seconds())
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

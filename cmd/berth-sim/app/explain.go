package app

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/internal/sim/workload"
	"github.com/berth-sched/berth/manifests"
)

func newExplainCommand(o *Options) *cobra.Command {
	var in inputs
	var pod string
	var top int
	var asJSON bool
	var live liveFlags
	cmd := &cobra.Command{
		Use:   "explain (--scenario FILE | --trace ... | --kubeconfig FILE) [--config ...] [--sweep ...] --pod [NAMESPACE/]NAME",
		Short: "Explain every scheduling attempt of one pod in the replay",
		Long: `explain replays the workload as run does and, for each attempt the scheduler makes for
the pod, shows what every plugin of its profile said about every node: each filter's
verdict and reason, each score plugin's raw, normalized and weighted score, the node
chosen and its margin over the runner-up, and for a pod that preempts, the candidate
nodes, their victims and the rule that picked one. Plugins keep their configured names.

With --kubeconfig it explains the pod on a live cluster instead, read-only: it lists
what the profile's plugins read (manifests/explain/clusterrole.yaml grants exactly
that), builds the simulator's state from it and runs the pod through the profile of
--config (or of berth's ConfigMap, --config-from-cluster; default: berth's recommended
profile). A bound pod is explained as if it were pending now.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if top < 1 {
				return fmt.Errorf("--top must be at least 1, got %d", top)
			}
			if live.kubeconfig != "" {
				return explainLive(cmd.Context(), o, &in, &live, pod, top, asJSON)
			}
			if live.configFromCluster {
				return fmt.Errorf("--config-from-cluster needs --kubeconfig")
			}
			w, _, err := in.loadWorkload()
			if err != nil {
				return err
			}
			target, err := findPod(w, pod)
			if err != nil {
				return err
			}
			runs, err := in.plan(cmd.Context(), target)
			if err != nil {
				return err
			}
			jobs := make([]sim.Job, len(runs))
			for i, r := range runs {
				jobs[i] = r.job
			}
			results, err := sim.RunParallel(cmd.Context(), w, jobs, sim.ParallelOptions{Parallel: len(jobs), Command: o.WorkerCommand})
			if err != nil {
				return err
			}
			if asJSON {
				type run struct {
					Run      string        `json:"run"`
					Attempts []sim.Attempt `json:"attempts"`
				}
				var out []run
				for i, r := range runs {
					out = append(out, run{Run: r.job.Name, Attempts: results[i].Explain})
				}
				enc := json.NewEncoder(o.Out)
				enc.SetIndent("", "  ")
				return enc.Encode(out)
			}
			for i, r := range runs {
				if i > 0 {
					fmt.Fprintln(o.Out)
				}
				if err := sim.WriteExplanation(o.Out, r.job.Name, results[i].Explain, top); err != nil {
					return err
				}
			}
			return nil
		},
	}
	in.addFlags(cmd.Flags())
	cmd.Flags().StringVar(&pod, "pod", "", "the pod to explain, NAMESPACE/NAME or NAME (namespace default)")
	cmd.Flags().IntVar(&top, "top", 5, "feasible nodes to show scores for (at least 1)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the explanation as JSON (every node, every plugin)")
	cmd.Flags().StringVar(&live.kubeconfig, "kubeconfig", "", "explain the pod on this cluster's live state, read-only")
	cmd.Flags().BoolVar(&live.configFromCluster, "config-from-cluster", false, "with --kubeconfig: the configuration berth-scheduler's Deployment mounts")
	cmd.Flags().StringVar(&live.namespace, "scheduler-namespace", manifests.LeaseNamespace, "with --config-from-cluster: berth-scheduler's namespace")
	cmd.Flags().StringVar(&live.deployment, "scheduler-deployment", "berth-scheduler", "with --config-from-cluster: berth-scheduler's Deployment")
	_ = cmd.MarkFlagRequired("pod")
	return cmd
}

// findPod resolves --pod against the workload: NAMESPACE/NAME, or NAME in namespace
// default, or NAME when only one namespace has a pod of that name.
func findPod(w *workload.Workload, pod string) (string, error) {
	var matches []string
	for i := range w.Pods {
		full := w.Pods[i].Name()
		if full == pod || (!strings.Contains(pod, "/") && w.Pods[i].Pod.Name == pod) {
			matches = append(matches, full)
		}
	}
	switch len(matches) {
	case 1:
		return matches[0], nil
	case 0:
		example := ""
		if len(w.Pods) > 0 {
			example = fmt.Sprintf(" (pods are named like %s)", w.Pods[0].Name())
		}
		return "", fmt.Errorf("--pod %s: no such pod in the workload%s", pod, example)
	}
	return "", fmt.Errorf("--pod %s: pods of that name in several namespaces (%s); give NAMESPACE/NAME", pod, strings.Join(matches, ", "))
}

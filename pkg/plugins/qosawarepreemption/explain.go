package qosawarepreemption

import "k8s.io/kubernetes/pkg/scheduler/framework/preemption"

// PreemptionEvaluator is the upstream Evaluator the plugin preempts with, so that tools
// (berth-sim explain) can dry-run preemption exactly as the plugin would.
func (pl *QoSAwarePreemption) PreemptionEvaluator() *preemption.Evaluator { return pl.evaluator }

// NodeOrderRules names, in order, the rules of OrderedScoreFuncs, for explanations.
func (pl *QoSAwarePreemption) NodeOrderRules() []string {
	return []string{
		"fewest PDB violations",
		"lowest highest-victim priority",
		"lowest QoS cost",
		"fewest victims",
		"latest start of the highest-priority victims",
	}
}

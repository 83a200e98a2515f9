package sim

import (
	"math"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// budgets keeps the PodDisruptionBudgets' status, which in a cluster the disruption
// controller computes and preemption reads (a victim whose eviction would take a budget
// below its floor counts as a violation). Without it every budget would read "no
// disruption allowed". It follows the controller's arithmetic: healthy pods are the
// matching pods that are bound and not terminating, the expected count is the number
// of matching pods (the controller takes it from the pods' controller's scale; a
// workload's pods have no controller, and their count is what a scale would say), and
// disruptionsAllowed = max(0, healthy − desired), desired being minAvailable, or the
// expected count less maxUnavailable (percentages of the expected count, rounded up,
// as the controller rounds them).
type budgets struct {
	informer *syncInformer
	list     []*budget
}

type budget struct {
	pdb      *policyv1.PodDisruptionBudget
	selector labels.Selector
	expected int32
	healthy  int32
}

func newBudgets(informer *syncInformer, pdbs []*policyv1.PodDisruptionBudget) (*budgets, error) {
	b := &budgets{informer: informer}
	for _, p := range pdbs {
		sel, err := metav1.LabelSelectorAsSelector(p.Spec.Selector)
		if err != nil {
			return nil, err
		}
		bud := &budget{pdb: p.DeepCopy(), selector: sel}
		b.list = append(b.list, bud)
		bud.pdb.Status = bud.status()
		if err := informer.add(bud.pdb); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// podChanged adjusts the budgets matching the pod's old and new state (either may be
// nil) and publishes the ones whose status changed.
func (b *budgets) podChanged(old, cur *v1.Pod) error {
	for _, bud := range b.list {
		before := bud.pdb.Status
		if bud.matches(old) {
			bud.expected--
			if healthy(old) {
				bud.healthy--
			}
		}
		if bud.matches(cur) {
			bud.expected++
			if healthy(cur) {
				bud.healthy++
			}
		}
		if s := bud.status(); !sameCounts(s, before) {
			prev := bud.pdb
			bud.pdb = prev.DeepCopy()
			bud.pdb.Status = s
			if err := b.informer.update(prev, bud.pdb); err != nil {
				return err
			}
		}
	}
	return nil
}

func (bud *budget) matches(p *v1.Pod) bool {
	return p != nil && p.Namespace == bud.pdb.Namespace && bud.selector.Matches(labels.Set(p.Labels))
}

func healthy(p *v1.Pod) bool {
	return p.Spec.NodeName != "" && p.DeletionTimestamp == nil
}

func (bud *budget) status() policyv1.PodDisruptionBudgetStatus {
	desired := bud.desired()
	return policyv1.PodDisruptionBudgetStatus{
		ObservedGeneration: bud.pdb.Generation,
		CurrentHealthy:     bud.healthy,
		DesiredHealthy:     desired,
		ExpectedPods:       bud.expected,
		DisruptionsAllowed: max(0, bud.healthy-desired),
	}
}

func (bud *budget) desired() int32 {
	spec := bud.pdb.Spec
	switch {
	case spec.MinAvailable != nil:
		v, _ := intstr.GetScaledValueFromIntOrPercent(spec.MinAvailable, int(bud.expected), true)
		return int32(v)
	case spec.MaxUnavailable != nil:
		v, _ := intstr.GetScaledValueFromIntOrPercent(spec.MaxUnavailable, int(bud.expected), true)
		return max(0, bud.expected-int32(v))
	}
	return math.MaxInt32 // neither set: the API server refuses such a budget
}

func sameCounts(a, b policyv1.PodDisruptionBudgetStatus) bool {
	return a.CurrentHealthy == b.CurrentHealthy && a.DesiredHealthy == b.DesiredHealthy &&
		a.ExpectedPods == b.ExpectedPods && a.DisruptionsAllowed == b.DisruptionsAllowed
}

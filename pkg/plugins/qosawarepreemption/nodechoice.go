package qosawarepreemption

import (
	"context"
	"math"
	"slices"

	v1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	extenderv1 "k8s.io/kube-scheduler/extender/v1"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
	"k8s.io/kubernetes/pkg/scheduler/util"
)

// qosCost is the args' weight of one victim of class c.
func (pl *QoSAwarePreemption) qosCost(c v1.PodQOSClass) int64 {
	switch c {
	case v1.PodQOSGuaranteed:
		return *pl.args.QoSCost.Guaranteed
	case v1.PodQOSBurstable:
		return *pl.args.QoSCost.Burstable
	default:
		return *pl.args.QoSCost.BestEffort
	}
}

// OrderedScoreFuncs is berth's node choice among preemption candidates, which
// upstream's pickOneNodeForPreemption applies: each function scores every tied node,
// higher is better, and the next one only breaks the ties left. In order: fewest PDB
// violations; lowest highest-victim priority; lowest QoS cost (sum of qosCost over
// victims); fewest victims; latest start time of the earliest-started highest-priority
// victim (upstream's last rule, so recently started pods go first); and last, the node
// whose name sorts first. Upstream's third rule (sum of victim priorities) is replaced
// by the QoS cost. The name rule makes the choice a function of the candidates: upstream
// leaves a complete tie to the order of a map, and start times, recorded to the second
// by kubelets, do tie; with it, the same cluster state always preempts on the same node
// (and berth-sim replays are deterministic without leaning on distinct start times).
func (pl *QoSAwarePreemption) OrderedScoreFuncs(_ context.Context, nodesToVictims map[string]*extenderv1.Victims) []func(node string) int64 {
	victimsOf := func(node string) []*v1.Pod {
		if v := nodesToVictims[node]; v != nil {
			return v.Pods
		}
		return nil
	}
	names := make([]string, 0, len(nodesToVictims))
	for node := range nodesToVictims {
		names = append(names, node)
	}
	slices.Sort(names)
	return []func(string) int64{
		func(node string) int64 {
			v := nodesToVictims[node]
			if v == nil {
				return math.MinInt64
			}
			return -v.NumPDBViolations
		},
		func(node string) int64 {
			pods := victimsOf(node)
			if len(pods) == 0 {
				return math.MinInt64
			}
			highest := int64(math.MinInt32)
			for _, p := range pods {
				highest = max(highest, int64(corev1helpers.PodPriority(p)))
			}
			return -highest
		},
		func(node string) int64 {
			var cost int64
			for _, p := range victimsOf(node) {
				// Saturate: costs are only bounded below, and a wrapped sum would
				// invert the order.
				if c := pl.qosCost(qos.GetPodQOS(p)); cost > math.MaxInt64-c {
					cost = math.MaxInt64
				} else {
					cost += c
				}
			}
			return -cost
		},
		func(node string) int64 {
			return -int64(len(victimsOf(node)))
		},
		func(node string) int64 {
			v := nodesToVictims[node]
			if v == nil || len(v.Pods) == 0 {
				return math.MinInt64
			}
			return util.GetEarliestPodStartTime(v).UnixNano()
		},
		func(node string) int64 {
			i, _ := slices.BinarySearch(names, node)
			return -int64(i)
		},
	}
}

// NodeOrderRules names the rules of OrderedScoreFuncs, in order, for explanations
// (berth-sim explain).
func (pl *QoSAwarePreemption) NodeOrderRules() []string {
	return []string{
		"fewest PDB violations",
		"lowest highest-victim priority",
		"lowest QoS cost",
		"fewest victims",
		"latest start of the highest-priority victims",
		"node name, first in order",
	}
}

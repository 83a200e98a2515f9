package qosawarepreemption

import (
	v1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
	"k8s.io/kubernetes/pkg/apis/scheduling"
	"k8s.io/kubernetes/pkg/scheduler/framework/preemption"

	"github.com/berth-sched/berth/pkg/plugins/internal/qosrank"
)

// victimQoS is the class of a preemption unit: a pod's own class, or for a pod group the
// most protected class among its pods (the group is evicted as a whole, so it is as
// costly to lose as its most protected member).
func victimQoS(v preemption.Victim) v1.PodQOSClass {
	best := v1.PodQOSBestEffort
	for _, pi := range v.Pods() {
		if c := qos.GetPodQOS(pi.GetPod()); qosrank.Of(c) > qosrank.Of(best) {
			best = c
		}
	}
	return best
}

// moreImportantVictim is berth's victim order, most important (reprieved first) first:
// higher priority, then Guaranteed over Burstable over BestEffort, then upstream's own
// order (pod groups over pods, larger groups, earlier start time). It is the only
// change berth makes to upstream's victim selection on a node.
func moreImportantVictim(a, b preemption.Victim) bool {
	if pa, pb := a.Priority(), b.Priority(); pa != pb {
		return pa > pb
	}
	if qa, qb := qosrank.Of(victimQoS(a)), qosrank.Of(victimQoS(b)); qa != qb {
		return qa > qb
	}
	return preemption.MoreImportantVictim(a, b)
}

// allowedByGap is the guaranteedPriorityGap rule: a Guaranteed victim may only be
// preempted by a pod at least gap priorities above it. Upstream's "strictly lower
// priority" check runs before this one.
//
// Preemptors at or above system-cluster-critical are exempt whatever the gap: upstream
// asks every IsEligiblePod customization to let system services preempt normal pods,
// and a gap is otherwise unbounded (above 2^31 it would shield Guaranteed pods even
// from system-node-critical).
func allowedByGap(gap int64, victim preemption.Victim, preemptor *v1.Pod) bool {
	if gap <= 0 || victimQoS(victim) != v1.PodQOSGuaranteed {
		return true
	}
	prio := corev1helpers.PodPriority(preemptor)
	if prio >= scheduling.SystemCriticalPriority {
		return true
	}
	// The difference of two int32 cannot overflow; victim + gap could.
	return int64(prio)-int64(victim.Priority()) >= gap
}

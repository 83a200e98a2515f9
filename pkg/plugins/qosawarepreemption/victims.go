package qosawarepreemption

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/sets"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
	"k8s.io/kubernetes/pkg/apis/scheduling"
	"k8s.io/kubernetes/pkg/scheduler/framework"
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

// podMatchesAllTerms reports whether p satisfies every one of the preemptor's required
// pod-affinity terms, the test upstream's InterPodAffinity filter counts a pod with.
// The terms' namespace selectors have been resolved into their namespace sets.
func podMatchesAllTerms(terms []fwk.AffinityTerm, p *v1.Pod) bool {
	if len(terms) == 0 {
		return false
	}
	for i := range terms {
		if !terms[i].Matches(p, nil) {
			return false
		}
	}
	return true
}

// withoutAffinityTargets drops the victims the preemptor has required pod affinity to:
// evicting them would take away what the preemptor needs next to it. Upstream keeps
// them as potential victims and, once they are all removed, finds that the preemptor's
// affinity fails and gives up on the node; berth keeps them and evicts others. It
// returns victims itself when nothing is dropped.
func withoutAffinityTargets(victims []*preemption.DomainVictim, terms []fwk.AffinityTerm) []*preemption.DomainVictim {
	if len(terms) == 0 {
		return victims
	}
	var kept []*preemption.DomainVictim
	for i, v := range victims {
		if !victimMatches(v, terms) {
			if kept != nil {
				kept = append(kept, v)
			}
			continue
		}
		if kept == nil {
			kept = make([]*preemption.DomainVictim, i, len(victims))
			copy(kept, victims[:i])
		}
	}
	if kept == nil {
		return victims
	}
	return kept
}

func victimMatches(v preemption.Victim, terms []fwk.AffinityTerm) bool {
	for _, pi := range v.Pods() {
		if podMatchesAllTerms(terms, pi.GetPod()) {
			return true
		}
	}
	return false
}

// requiredAffinityTerms returns the preemptor's required pod-affinity terms, parsed as
// upstream parses them (framework.NewPodInfo), with namespace selectors resolved to
// namespace names the way upstream's InterPodAffinity PreFilter resolves them. nil when
// the pod has none, the common case, which costs nothing.
func requiredAffinityTerms(pod *v1.Pod, listNamespaces func(labels.Selector) ([]string, error)) []fwk.AffinityTerm {
	a := pod.Spec.Affinity
	if a == nil || a.PodAffinity == nil || len(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution) == 0 {
		return nil
	}
	pi, err := framework.NewPodInfo(pod)
	if err != nil {
		// Unparsable terms: InterPodAffinity rejects the pod itself, nothing to protect.
		return nil
	}
	parsed := pi.GetRequiredAffinityTerms()
	terms := make([]fwk.AffinityTerm, len(parsed))
	for i, t := range parsed {
		terms[i] = t
		if t.NamespaceSelector.Empty() || listNamespaces == nil {
			continue
		}
		// Copy the set: the parsed term belongs to the PodInfo.
		ns := sets.New(t.Namespaces.UnsortedList()...)
		if names, err := listNamespaces(t.NamespaceSelector); err == nil {
			ns.Insert(names...)
		}
		terms[i].Namespaces = ns
		terms[i].NamespaceSelector = labels.Nothing()
	}
	return terms
}

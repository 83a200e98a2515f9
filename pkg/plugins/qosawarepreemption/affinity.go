package qosawarepreemption

import (
	"cmp"
	"context"
	"slices"

	v1 "k8s.io/api/core/v1"
	policy "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/preemption"
)

// Upstream's per-node victim search removes every possible victim, runs the filters,
// then reprieves victims one by one. It relies on removals never hurting the
// preemptor, which holds for every filter but required pod affinity: a victim may be
// the pod the preemptor must run beside. Upstream then gives the node up; berth keeps
// such a pod exactly when it is needed: when evicting the possible victims would leave
// some required term of the preemptor without a pod in that term's topology domain.
//
// The rules are upstream InterPodAffinity's: a pod counts for the preemptor's affinity
// only if it matches every required term (a "target"); term i holds on node N when a
// target runs in N's domain of term i's topology key, anywhere in the cluster; and if no
// target runs anywhere, a preemptor matching its own terms may go first.
//
// When several possible victims are targets, keeping any one of them on the node meets
// every term (a pod on N is in each of N's domains). berth runs upstream's search once
// per such target, kept, and takes the victims that are best in the reprieve order:
// the first pod (PDB-violating ones first, then by importance) that one outcome keeps
// and the other evicts decides. That is the best victim set of all, as if upstream's
// search could reason about affinity: within each run removals no longer hurt.

// topologyPair is one topology domain: a label key and a node's value for it.
type topologyPair struct{ key, value string }

// affinityTargets is the preemptor's required pod affinity, resolved once per
// PostFilter over the scheduling cycle's snapshot.
type affinityTargets struct {
	terms []fwk.AffinityTerm
	// keys are the terms' distinct topology keys.
	keys []string
	// inDomain counts the targets per topology domain of the keys.
	inDomain map[topologyPair]int
	// onKeyedNodes counts the targets on nodes that carry at least one of the keys:
	// when it drops to 0, upstream lets a preemptor that matches its own terms in.
	onKeyedNodes int
	selfMatch    bool
}

// newAffinityTargets resolves the preemptor's required affinity terms and counts the
// targets in nodes; nil when the preemptor has no required pod affinity.
func newAffinityTargets(preemptor *v1.Pod, listNamespaces func(labels.Selector) ([]string, error), nodes []fwk.NodeInfo) *affinityTargets {
	terms := requiredAffinityTerms(preemptor, listNamespaces)
	if len(terms) == 0 {
		return nil
	}
	a := &affinityTargets{terms: terms, inDomain: map[topologyPair]int{}, selfMatch: podMatchesAllTerms(terms, preemptor)}
	keys := sets.New[string]()
	for _, t := range terms {
		if !keys.Has(t.TopologyKey) {
			keys.Insert(t.TopologyKey)
			a.keys = append(a.keys, t.TopologyKey)
		}
	}
	for _, ni := range nodes {
		if ni.Node() == nil {
			continue
		}
		for _, pi := range ni.GetPods() {
			if podMatchesAllTerms(terms, pi.GetPod()) {
				a.count(ni.Node().Labels, 1, a.inDomain, &a.onKeyedNodes)
			}
		}
	}
	return a
}

// count adds n targets on a node with nodeLabels to the counts.
func (a *affinityTargets) count(nodeLabels map[string]string, n int, inDomain map[topologyPair]int, onKeyedNodes *int) {
	keyed := false
	for _, k := range a.keys {
		if v, ok := nodeLabels[k]; ok {
			inDomain[topologyPair{k, v}] += n
			keyed = true
		}
	}
	if keyed {
		*onKeyedNodes += n
	}
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

// keepOne returns the possible victims of which one must stay on nodeInfo's node for
// the preemptor's affinity to hold: the eligible victims holding a target in every
// domain whose term evicting all eligible victims would break. nil when evicting them
// all breaks no term (or the node lacks a topology key, which no eviction mends).
func (a *affinityTargets) keepOne(nodeInfo fwk.NodeInfo, eligible []*preemption.DomainVictim) []*preemption.DomainVictim {
	node := nodeInfo.Node()
	labelsOf := func(v *preemption.DomainVictim, p *v1.Pod) map[string]string {
		if p.Spec.NodeName == node.Name {
			return node.Labels
		}
		if ni := v.AffectedNodes()[p.Spec.NodeName]; ni != nil && ni.Node() != nil {
			return ni.Node().Labels
		}
		return nil
	}
	removed := map[topologyPair]int{}
	removedKeyed := 0
	for _, v := range eligible {
		for _, pi := range v.Pods() {
			if p := pi.GetPod(); podMatchesAllTerms(a.terms, p) {
				a.count(labelsOf(v, p), 1, removed, &removedKeyed)
			}
		}
	}
	if removedKeyed == 0 {
		return nil
	}
	if a.selfMatch && a.onKeyedNodes == removedKeyed {
		// No target would be left anywhere: upstream's first-pod exception admits the
		// preemptor then, and with any target kept, the targets' own domains hold.
		return nil
	}
	var broken []topologyPair
	for _, k := range a.keys {
		value, ok := node.Labels[k]
		if !ok {
			return nil
		}
		if d := (topologyPair{k, value}); a.inDomain[d] <= removed[d] {
			broken = append(broken, d)
		}
	}
	if len(broken) == 0 {
		return nil
	}
	var keep []*preemption.DomainVictim
	for _, v := range eligible {
		mends := 0
		for _, d := range broken {
			for _, pi := range v.Pods() {
				if p := pi.GetPod(); podMatchesAllTerms(a.terms, p) && labelsOf(v, p)[d.key] == d.value {
					mends++
					break
				}
			}
		}
		if mends == len(broken) {
			keep = append(keep, v)
		}
	}
	return keep
}

// selectVictimsKeepingAffinity is SelectVictimsOnNode for a preemptor with required pod
// affinity: upstream's search as is when no target needs keeping, else once per target
// that may be the one kept, on fresh copies of the node and the cycle state, the best
// outcome in the reprieve order winning.
func (pl *QoSAwarePreemption) selectVictimsKeepingAffinity(ctx context.Context, a *affinityTargets, state fwk.CycleState, preemptor *v1.Pod,
	nodeInfo fwk.NodeInfo, possible []*preemption.DomainVictim, pdbs []*policy.PodDisruptionBudget) ([]*v1.Pod, int, *fwk.Status) {
	eligible := pl.eligibleVictims(possible, preemptor)
	keep := a.keepOne(nodeInfo, eligible)
	if len(keep) == 0 {
		return pl.upstream.SelectVictimsOnNode(ctx, state, preemptor, nodeInfo, possible, pdbs)
	}
	order := reprieveOrder(eligible, pdbs)
	var (
		best        []*v1.Pod
		bestPDB     int
		found       bool
		firstStatus *fwk.Status
	)
	for i, kept := range byRank(keep, order) {
		s, ni := state, nodeInfo
		if i < len(keep)-1 {
			// The last run may use the copies the Evaluator made for this node; the
			// others need their own, as upstream's search changes both.
			ni = nodeInfo.Snapshot()
			if state != nil {
				s = state.Clone()
			}
		}
		pods, numPDB, status := pl.upstream.SelectVictimsOnNode(ctx, s, preemptor, ni, without(possible, kept), pdbs)
		switch {
		case status.Code() == fwk.Error:
			return nil, 0, status
		case !status.IsSuccess():
			if firstStatus == nil {
				firstStatus = status
			}
		case !found || keepsMore(order, pods, best):
			best, bestPDB, found = pods, numPDB, true
		}
	}
	if !found {
		// Even the most important target's run found no room: its reason stands.
		return nil, 0, firstStatus
	}
	return best, bestPDB, nil
}

// eligibleVictims are the victims upstream's search would consider: lower priority
// than the preemptor, and allowed by guaranteedPriorityGap (berth's IsEligiblePod).
func (pl *QoSAwarePreemption) eligibleVictims(possible []*preemption.DomainVictim, preemptor *v1.Pod) []*preemption.DomainVictim {
	prio := corev1helpers.PodPriority(preemptor)
	var out []*preemption.DomainVictim
	for _, v := range possible {
		if v.Priority() < prio && allowedByGap(pl.args.GuaranteedPriorityGap, v, preemptor) {
			out = append(out, v)
		}
	}
	return out
}

// reprieveOrder is the order in which upstream's search tries to keep victims: the
// PDB-violating ones first, then the others, each most important first in berth's
// order. It maps each victim (by its first pod) to its rank.
func reprieveOrder(eligible []*preemption.DomainVictim, pdbs []*policy.PodDisruptionBudget) map[types.UID]int {
	sorted := slices.Clone(eligible)
	slices.SortStableFunc(sorted, func(a, b *preemption.DomainVictim) int {
		switch {
		case moreImportantVictim(a, b):
			return -1
		case moreImportantVictim(b, a):
			return 1
		}
		return 0
	})
	violating, others := preemption.FilterVictimsWithPDBViolation(sorted, pdbs)
	rank := make(map[types.UID]int, len(eligible))
	for _, v := range violating {
		rank[victimUID(v.Victim)] = len(rank)
	}
	for _, v := range others {
		rank[victimUID(v)] = len(rank)
	}
	return rank
}

// victimUID identifies a victim by its first pod.
func victimUID(v preemption.Victim) types.UID {
	if pods := v.Pods(); len(pods) > 0 {
		return pods[0].GetPod().UID
	}
	return ""
}

// byRank returns victims in reprieve order.
func byRank(victims []*preemption.DomainVictim, rank map[types.UID]int) []*preemption.DomainVictim {
	out := slices.Clone(victims)
	slices.SortStableFunc(out, func(a, b *preemption.DomainVictim) int {
		return cmp.Compare(rank[victimUID(a)], rank[victimUID(b)])
	})
	return out
}

// keepsMore reports whether victim set a is better than b in the reprieve order: the
// first victim, in that order, that one of them evicts and the other keeps is kept by a.
func keepsMore(rank map[types.UID]int, a, b []*v1.Pod) bool {
	ranksOf := func(pods []*v1.Pod) map[int]bool {
		ranks := make(map[int]bool, len(pods))
		for _, p := range pods {
			if r, ok := rank[p.UID]; ok {
				ranks[r] = true
			}
		}
		return ranks
	}
	ra, rb := ranksOf(a), ranksOf(b)
	for r := range len(rank) {
		if ra[r] != rb[r] {
			return !ra[r]
		}
	}
	return false
}

// without returns victims except v, in a new slice.
func without(victims []*preemption.DomainVictim, v *preemption.DomainVictim) []*preemption.DomainVictim {
	out := make([]*preemption.DomainVictim, 0, len(victims))
	for _, x := range victims {
		if x != v {
			out = append(out, x)
		}
	}
	return out
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

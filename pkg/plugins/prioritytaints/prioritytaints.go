// Package prioritytaints reserves tainted node pools for high-priority pods. Upstream
// TaintToleration lets any pod that carries a toleration onto a tainted node, and a
// toleration is just text anyone can copy into a manifest; PriorityTaints makes the
// toleration of a reserved taint count only for pods whose priority is at least the
// rule's minPriority, so that a reserved pool stays reserved.
//
// It is a scheduling policy for the pods berth schedules, not admission control: pods of
// other schedulers, and pods created with spec.nodeName set, never pass through it.
package prioritytaints

import (
	"context"
	"fmt"
	"slices"
	"sort"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/component-base/metrics"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	plfeature "k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/helper"
	schedutil "k8s.io/kubernetes/pkg/scheduler/util"

	"github.com/berth-sched/berth/pkg/apis/config"
	"github.com/berth-sched/berth/pkg/plugins/internal/cyclestate"
	"github.com/berth-sched/berth/pkg/plugins/internal/rejections"
	"github.com/berth-sched/berth/pkg/plugins/internal/resize"
)

const (
	// Name is the plugin's name in the registry and in scheduler configurations.
	Name = "PriorityTaints"

	preFilterStateKey = "PreFilter" + Name
	preScoreStateKey  = "PreScore" + Name

	// bindingRulesSignerName names the sign fragment of what Filter's and Score's
	// answers depend on besides the tolerations, in upstream's form (the pod field, then
	// what the plugin derives from it): which rules bind the pod. The rules binding a pod
	// are always the k with the highest minPriority, so k alone identifies them; pods of
	// different priorities bound by the same rules share a signature.
	bindingRulesSignerName = "v1.Pod.Spec.Priority.PriorityTaintsBindingRules()"
)

// PriorityTaints rejects a node for a pod that tolerates one of the node's NoSchedule or
// NoExecute taints matched by a rule whose minPriority is above the pod's priority, and
// lowers the score of nodes with such PreferNoSchedule taints for those pods.
type PriorityTaints struct {
	// rules are sorted by minPriority, highest first, so the rules binding a pod of
	// priority p are the prefix rules[:k] with minPriority > p; cycle states share that
	// prefix instead of copying it.
	rules []rule

	enableTaintTolerationComparisonOperators           bool
	enableInPlacePodVerticalScalingSchedulerPreemption bool
}

var (
	_ fwk.PreFilterPlugin   = &PriorityTaints{}
	_ fwk.FilterPlugin      = &PriorityTaints{}
	_ fwk.PreScorePlugin    = &PriorityTaints{}
	_ fwk.ScorePlugin       = &PriorityTaints{}
	_ fwk.ScoreExtensions   = &PriorityTaints{}
	_ fwk.EnqueueExtensions = &PriorityTaints{}
	_ fwk.SignPlugin        = &PriorityTaints{}
)

// rule is one configured reservation; value "" matches any value of key.
type rule struct {
	key         string
	value       string
	minPriority int32
	// rejected counts the rule's rejections: berth_plugin_rejections_total, rule
	// "<key>=<value>" ("<key>=*" for any value).
	rejected metrics.CounterMetric
}

func (r *rule) matches(t *v1.Taint) bool {
	return t.Key == r.key && (r.value == "" || t.Value == r.value)
}

// New builds the plugin from PriorityTaintsArgs and the scheduler's features.
func New(ctx context.Context, obj runtime.Object, _ fwk.Handle, fts plfeature.Features) (fwk.Plugin, error) {
	var args config.PriorityTaintsArgs
	if err := config.Decode(Name, obj, &args); err != nil {
		return nil, err
	}
	pl := newFromArgs(&args)
	pl.enableTaintTolerationComparisonOperators = fts.EnableTaintTolerationComparisonOperators
	pl.enableInPlacePodVerticalScalingSchedulerPreemption = fts.EnableInPlacePodVerticalScalingSchedulerPreemption
	if len(pl.rules) == 0 {
		klog.FromContext(ctx).Info("PriorityTaints has no rules configured and reserves no taint")
	}
	return pl, nil
}

// newFromArgs orders valid args' rules for the prefix lookup.
func newFromArgs(args *config.PriorityTaintsArgs) *PriorityTaints {
	pl := &PriorityTaints{}
	for _, r := range args.Rules {
		label := r.Key + "=" + r.Value
		if r.Value == "" {
			label = r.Key + "=*"
		}
		pl.rules = append(pl.rules, rule{key: r.Key, value: r.Value, minPriority: *r.MinPriority, rejected: rejections.For(Name, label)})
	}
	// Stable: among equal bounds the configured order decides which rule a message names.
	sort.SliceStable(pl.rules, func(i, j int) bool { return pl.rules[i].minPriority > pl.rules[j].minPriority })
	return pl
}

// Name returns the plugin's name.
func (pl *PriorityTaints) Name() string { return Name }

// bindingRules returns the rules whose minPriority is above the pod's priority.
func (pl *PriorityTaints) bindingRules(pod *v1.Pod) []rule {
	p := corev1helpers.PodPriority(pod)
	k, _ := slices.BinarySearchFunc(pl.rules, p, func(r rule, p int32) int {
		// rules[:k] have minPriority > p; "less than target" in descending order.
		if r.minPriority > p {
			return -1
		}
		return 1
	})
	return pl.rules[:k]
}

// state is what PreFilter and PreScore precompute: the rules binding the pod.
type state struct {
	rules []rule
}

// Clone shares the state: it is never modified after it is written.
func (s *state) Clone() fwk.StateData { return s }

func getPreFilterState(cs fwk.CycleState) (*state, error) {
	return cyclestate.Read[*state](cs, preFilterStateKey, "preFilter")
}

func getPreScoreState(cs fwk.CycleState) (*state, error) {
	return cyclestate.Read[*state](cs, preScoreStateKey, "preScore")
}

// SignPod signs the pod's tolerations and which rules bind it, everything Filter and
// Score read from the pod.
func (pl *PriorityTaints) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	return []fwk.SignFragment{
		{Key: fwk.TolerationsSignerName, Value: fwk.TolerationsSigner(pod)},
		{Key: bindingRulesSignerName, Value: len(pl.bindingRules(pod))},
	}, nil
}

// PreFilter finds the rules binding the pod; a pod at or above every rule's minPriority
// (or any pod, with no rules) skips Filter, and so does a pod none of whose tolerations
// could tolerate a taint a binding rule matches: Filter only rejects tolerated reserved
// taints, so it would pass every node (most pods, which tolerate nothing reserved, pay
// nothing per node).
//
// A pod whose in-place resize the kubelet deferred skips Filter too, as it does
// upstream TaintToleration's: it is already running on the node the scheduler now
// judges the resize on, and a resize changes neither its priority, nor its
// tolerations, nor the node's taints. Rejecting it here (say, because a rule or a taint
// was added after it was placed) would only deny the resize the preemption that could
// make room for it, and would not move the pod off the reserved pool.
func (pl *PriorityTaints) PreFilter(_ context.Context, cs fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	if resize.Deferred(pl.enableInPlacePodVerticalScalingSchedulerPreemption, pod) {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	rules := pl.bindingRules(pod)
	if len(rules) == 0 || !mayTolerateReserved(pod.Spec.Tolerations, rules) {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	cs.Write(preFilterStateKey, &state{rules: rules})
	return nil, nil
}

// mayTolerateReserved reports whether one of the tolerations could tolerate a taint
// that one of rules matches. Only keys are compared, so it errs towards true (a
// toleration of the rule's key with another value or effect counts): an empty key
// tolerates any key in upstream's ToleratesTaint, and so matches every rule.
func mayTolerateReserved(tolerations []v1.Toleration, rules []rule) bool {
	for i := range tolerations {
		k := tolerations[i].Key
		if k == "" {
			return true
		}
		for j := range rules {
			if rules[j].key == k {
				return true
			}
		}
	}
	return false
}

// PreFilterExtensions returns nil: the answer depends on the node's taints only, never
// on the pods on it.
func (pl *PriorityTaints) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

// Filter rejects the node when the pod tolerates one of its NoSchedule/NoExecute taints
// that a binding rule reserves. Taints the pod does not tolerate are left to upstream
// TaintToleration, which already rejects the node for them: rejecting here too would
// only repeat (or, depending on the order, replace) upstream's reason.
func (pl *PriorityTaints) Filter(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	s, err := getPreFilterState(cs)
	if err != nil {
		return fwk.AsStatus(err)
	}
	node := nodeInfo.Node()
	if node == nil {
		return fwk.NewStatus(fwk.Error, "node not found")
	}
	if t, r := pl.reservedTolerated(klog.FromContext(ctx), node.Spec.Taints, pod.Spec.Tolerations, s.rules); t != nil {
		// Removing pods cannot raise the pod's priority: preemption cannot help here.
		r.rejected.Inc()
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable,
			fmt.Sprintf("node taint %s is reserved for pods with priority >= %d", t.ToString(), r.minPriority))
	}
	return nil
}

// doNotSchedule selects the taints Filter judges, NoSchedule and NoExecute, with
// upstream TaintToleration's own filter.
var doNotSchedule = helper.DoNotScheduleTaintsFilterFunc()

// reservedTolerated returns the first NoSchedule/NoExecute taint that one of rules
// reserves and the tolerations tolerate, with the matching rule of highest
// minPriority; nil if none.
func (pl *PriorityTaints) reservedTolerated(logger klog.Logger, taints []v1.Taint, tolerations []v1.Toleration, rules []rule) (*v1.Taint, *rule) {
	for i := range taints {
		t := &taints[i]
		if !doNotSchedule(t) {
			continue
		}
		for j := range rules {
			r := &rules[j]
			if !r.matches(t) {
				continue
			}
			if corev1helpers.TolerationsTolerateTaint(logger, tolerations, t, pl.enableTaintTolerationComparisonOperators) {
				return t, r
			}
			break // untolerated: upstream TaintToleration's case, whatever rule matches
		}
	}
	return nil, nil
}

// PreScore finds the rules binding the pod; a pod no rule binds skips Score. So does
// every pod when none of the nodes to score has a PreferNoSchedule taint a binding rule
// matches: every count would be 0 and every normalized score the same, which changes no
// node's rank. Checking the nodes' taints once here is cheaper than a Score call per
// node, and in a cluster without a soft-reserved pool Score never runs.
func (pl *PriorityTaints) PreScore(_ context.Context, cs fwk.CycleState, pod *v1.Pod, nodes []fwk.NodeInfo) *fwk.Status {
	rules := pl.bindingRules(pod)
	if len(rules) == 0 || !anyReservedPreferNoSchedule(nodes, rules) {
		return fwk.NewStatus(fwk.Skip)
	}
	cs.Write(preScoreStateKey, &state{rules: rules})
	return nil
}

// Score counts the node's PreferNoSchedule taints that a binding rule reserves,
// tolerated or not: the rule says pods below minPriority should stay off the pool, and
// a toleration (which makes upstream TaintToleration indifferent) does not change that.
// NormalizeScore reverses the count, so more reserved taints mean a lower score.
func (pl *PriorityTaints) Score(_ context.Context, cs fwk.CycleState, _ *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	s, err := getPreScoreState(cs)
	if err != nil {
		return 0, fwk.AsStatus(err)
	}
	node := nodeInfo.Node()
	if node == nil {
		return 0, fwk.NewStatus(fwk.Error, "node not found")
	}
	return countReservedPreferNoSchedule(node.Spec.Taints, s.rules), nil
}

// anyReservedPreferNoSchedule reports whether one of the nodes has a PreferNoSchedule
// taint that one of rules matches.
func anyReservedPreferNoSchedule(nodes []fwk.NodeInfo, rules []rule) bool {
	for _, ni := range nodes {
		if n := ni.Node(); n != nil && len(n.Spec.Taints) > 0 && countReservedPreferNoSchedule(n.Spec.Taints, rules) > 0 {
			return true
		}
	}
	return false
}

func countReservedPreferNoSchedule(taints []v1.Taint, rules []rule) int64 {
	var n int64
	for i := range taints {
		t := &taints[i]
		if t.Effect != v1.TaintEffectPreferNoSchedule {
			continue
		}
		for j := range rules {
			if rules[j].matches(t) {
				n++
				break
			}
		}
	}
	return n
}

// ScoreExtensions returns the plugin: it normalizes its scores.
func (pl *PriorityTaints) ScoreExtensions() fwk.ScoreExtensions { return pl }

// NormalizeScore maps the counts to 0..MaxNodeScore in reverse, as upstream
// TaintToleration does: the nodes with the most reserved PreferNoSchedule taints get 0,
// nodes with none get MaxNodeScore, and if no node has any, all get MaxNodeScore.
func (pl *PriorityTaints) NormalizeScore(_ context.Context, _ fwk.CycleState, _ *v1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	return helper.DefaultNormalizeScore(fwk.MaxNodeScore, true, scores)
}

// EventsToRegister: a pod rejected by Filter can only become schedulable on a node
// whose taints changed (or a new node). The pod's priority is immutable, and a pod can
// only gain tolerations, which cannot lift this plugin's rejection.
func (pl *PriorityTaints) EventsToRegister(_ context.Context) ([]fwk.ClusterEventWithHint, error) {
	return []fwk.ClusterEventWithHint{
		{Event: fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeTaint}, QueueingHintFn: pl.isSchedulableAfterNodeChange},
	}, nil
}

// isSchedulableAfterNodeChange queues the pod when the new or updated node no longer
// has a reserved taint the pod tolerates while the old one had.
func (pl *PriorityTaints) isSchedulableAfterNodeChange(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	oldNode, newNode, err := schedutil.As[*v1.Node](oldObj, newObj)
	if err != nil {
		return fwk.Queue, err
	}
	rules := pl.bindingRules(pod)
	if t, _ := pl.reservedTolerated(logger, newNode.Spec.Taints, pod.Spec.Tolerations, rules); t != nil {
		logger.V(5).Info("node still has a taint reserved for higher priorities", "pod", klog.KObj(pod), "node", klog.KObj(newNode), "taint", t.ToString())
		return fwk.QueueSkip, nil
	}
	if oldNode != nil {
		if t, _ := pl.reservedTolerated(logger, oldNode.Spec.Taints, pod.Spec.Tolerations, rules); t == nil {
			logger.V(5).Info("node update does not change PriorityTaints' answer", "pod", klog.KObj(pod), "node", klog.KObj(newNode))
			return fwk.QueueSkip, nil
		}
	}
	logger.V(5).Info("node has no taint reserved for higher priorities any more", "pod", klog.KObj(pod), "node", klog.KObj(newNode))
	return fwk.Queue, nil
}

// Package priorityheadroom keeps a share of every node's allocatable resources free of
// lower-priority pods, so that higher-priority pods arriving later find room without
// waiting for preemption (graceful termination, PDBs) to make it.
package priorityheadroom

import (
	"context"
	"fmt"
	"slices"
	"sort"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/component-base/metrics"
	"k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	plfeature "k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	schedutil "k8s.io/kubernetes/pkg/scheduler/util"

	"github.com/berth-sched/berth/pkg/apis/config"
	"github.com/berth-sched/berth/pkg/plugins/internal/cyclestate"
	"github.com/berth-sched/berth/pkg/plugins/internal/rejections"
	"github.com/berth-sched/berth/pkg/plugins/internal/resize"
)

const (
	// Name is the plugin's name in the registry and in scheduler configurations.
	Name = "PriorityHeadroom"

	preFilterStateKey = "PreFilter" + Name

	// tierSignerName and requestsSignerName name the sign fragments of what Filter's
	// answer depends on, in upstream's form (the pod field, then what the plugin derives
	// from it): which reservations bind the pod, and its requests of the reserved
	// resources.
	tierSignerName     = "v1.Pod.Spec.Priority.PriorityHeadroomTier()"
	requestsSignerName = "v1.Pod.Spec.ContainerRequestsAndOverheads().PriorityHeadroomReserved()"
)

// PriorityHeadroom rejects a node when placing the pod there would bring the node's
// requested amount of a resource above allocatable × (100 − p)/100, p being the largest
// reservePercent of that resource among the reservations whose belowPriority is above
// the pod's priority.
type PriorityHeadroom struct {
	// bounds are the reservations' belowPriority values, highest first.
	bounds []int32
	// tiers[k] holds the rules binding a pod that is below exactly the k highest bounds
	// (k = how many bounds exceed its priority); tiers[0] is empty.
	tiers [][]*rule
	// resources are all reserved resources, sorted; SignPod signs the pod's requests of
	// these.
	resources []v1.ResourceName

	enablePodLevelResources                            bool
	enableInPlaceScaling                               bool
	enableInPlacePodVerticalScalingSchedulerPreemption bool
}

var (
	_ fwk.PreFilterPlugin   = &PriorityHeadroom{}
	_ fwk.FilterPlugin      = &PriorityHeadroom{}
	_ fwk.EnqueueExtensions = &PriorityHeadroom{}
	_ fwk.SignPlugin        = &PriorityHeadroom{}
)

// resourceKind says where NodeInfo keeps a resource, so Filter switches on a byte
// rather than comparing names.
type resourceKind uint8

const (
	kindCPU resourceKind = iota
	kindMemory
	kindEphemeralStorage
	kindPods
	kindScalar
)

// rule is the effective reservation of one resource for one tier; immutable and shared
// by every cycle state.
type rule struct {
	name v1.ResourceName
	kind resourceKind
	// rejected counts the rule's rejections: berth_plugin_rejections_total, rule
	// "<resource><<belowPriority>" (e.g. cpu<1000000: pods below 1000000 keep cpu free).
	rejected metrics.CounterMetric
	percent  int64
	// message is the Unschedulable reason, built once: it names the rule.
	message string
}

// New builds the plugin from PriorityHeadroomArgs and the scheduler's features.
func New(ctx context.Context, obj runtime.Object, _ fwk.Handle, fts plfeature.Features) (fwk.Plugin, error) {
	var args config.PriorityHeadroomArgs
	if err := config.Decode(Name, obj, &args); err != nil {
		return nil, err
	}
	pl := newFromArgs(&args)
	pl.enablePodLevelResources = fts.EnablePodLevelResources
	pl.enableInPlaceScaling = fts.EnableInPlacePodVerticalScaling
	pl.enableInPlacePodVerticalScalingSchedulerPreemption = fts.EnableInPlacePodVerticalScalingSchedulerPreemption
	if len(args.Reservations) == 0 {
		klog.FromContext(ctx).Info("PriorityHeadroom has no reservations configured and holds nothing back")
	}
	return pl, nil
}

// newFromArgs precomputes every tier's rules from valid args.
func newFromArgs(args *config.PriorityHeadroomArgs) *PriorityHeadroom {
	res := slices.Clone(args.Reservations)
	sort.Slice(res, func(i, j int) bool { return *res[i].BelowPriority > *res[j].BelowPriority })
	pl := &PriorityHeadroom{tiers: make([][]*rule, len(res)+1)}
	names := map[v1.ResourceName]bool{}
	for _, r := range res {
		pl.bounds = append(pl.bounds, *r.BelowPriority)
		for name := range r.ReservePercent {
			names[name] = true
		}
	}
	for name := range names {
		pl.resources = append(pl.resources, name)
	}
	slices.Sort(pl.resources)
	for k := 1; k <= len(res); k++ {
		for _, name := range pl.resources {
			// The largest percent among the k highest bounds; on a tie the higher bound
			// names the rule, as that is the priority that escapes this percent.
			best := -1
			for i := 0; i < k; i++ {
				if p, ok := res[i].ReservePercent[name]; ok && p > 0 && (best < 0 || p > res[best].ReservePercent[name]) {
					best = i
				}
			}
			if best < 0 {
				continue
			}
			pct := res[best].ReservePercent[name]
			pl.tiers[k] = append(pl.tiers[k], &rule{
				name:    name,
				kind:    kindOf(name),
				percent: int64(pct),
				// No "%" sign: the scheduler records FailedScheduling events with the reason as
				// a format string, which would mangle it.
				message:  fmt.Sprintf("node keeps %d percent of %s for pods with priority >= %d", pct, name, *res[best].BelowPriority),
				rejected: rejections.For(Name, fmt.Sprintf("%s<%d", name, *res[best].BelowPriority)),
			})
		}
	}
	return pl
}

func kindOf(name v1.ResourceName) resourceKind {
	switch name {
	case v1.ResourceCPU:
		return kindCPU
	case v1.ResourceMemory:
		return kindMemory
	case v1.ResourceEphemeralStorage:
		return kindEphemeralStorage
	case v1.ResourcePods:
		return kindPods
	}
	return kindScalar
}

// Name returns the plugin's name.
func (pl *PriorityHeadroom) Name() string { return Name }

// tier is how many reservation bounds lie above priority.
func (pl *PriorityHeadroom) tier(priority int32) int {
	k := 0
	for k < len(pl.bounds) && pl.bounds[k] > priority {
		k++
	}
	return k
}

// check is one rule applied to one pod: the pod's request of the rule's resource.
type check struct {
	*rule
	request int64
}

// preFilterState holds the checks of the pod in this cycle. It depends on the pod
// alone, never on other pods, so it needs no PreFilterExtensions: preemption's dry run
// changes the NodeInfo, which Filter reads.
type preFilterState struct {
	checks []check
	// resizing: the pod is bound and the scheduler judges its deferred resize
	// (resize.Deferred); on its own node Filter counts only its growth.
	resizing bool
}

// Clone shares the state: it is never modified after PreFilter.
func (s *preFilterState) Clone() fwk.StateData { return s }

func getPreFilterState(cs fwk.CycleState) (*preFilterState, error) {
	return cyclestate.Read[*preFilterState](cs, preFilterStateKey, "preFilter")
}

// requests computes the pod's requests as NodeResourcesFit does (init containers,
// sidecars, overhead, pod-level resources) into upstream's Resource.
func (pl *PriorityHeadroom) requests(pod *v1.Pod) *framework.Resource {
	r := &framework.Resource{}
	r.SetMaxResource(resource.PodRequests(pod, resource.PodResourcesOptions{
		SkipPodLevelResources: !pl.enablePodLevelResources,
	}))
	return r
}

// checksFor returns the checks that bind pod; nil when none does.
func (pl *PriorityHeadroom) checksFor(pod *v1.Pod) []check {
	rules := pl.tiers[pl.tier(corev1helpers.PodPriority(pod))]
	if len(rules) == 0 {
		return nil
	}
	req := pl.requests(pod)
	var checks []check
	for _, r := range rules {
		// A pod that requests none of a resource does not bring its requested amount
		// anywhere, as NodeResourcesFit reasons; every pod takes one pod slot.
		if n := amount(req, r); n > 0 {
			checks = append(checks, check{rule: r, request: n})
		}
	}
	return checks
}

// amount reads the rule's resource from a pod's requests.
func amount(req *framework.Resource, r *rule) int64 {
	switch r.kind {
	case kindCPU:
		return req.MilliCPU
	case kindMemory:
		return req.Memory
	case kindEphemeralStorage:
		return req.EphemeralStorage
	case kindPods:
		return 1
	}
	return req.ScalarResources[r.name]
}

// nodeAmount reads the rule's resource from a node's allocatable or requested values;
// pods counts the allocatable pod number (the requested pod count is taken from the
// NodeInfo's pods by the caller).
func nodeAmount(res fwk.Resource, r *rule) int64 {
	switch r.kind {
	case kindCPU:
		return res.GetMilliCPU()
	case kindMemory:
		return res.GetMemory()
	case kindEphemeralStorage:
		return res.GetEphemeralStorage()
	case kindPods:
		return int64(res.GetAllowedPodNumber())
	}
	return res.GetScalarResources()[r.name]
}

// limit is allocatable × (100 − percent)/100 rounded down (the reserve rounds up), in
// a form that cannot overflow for any int64 allocatable.
func limit(allocatable, percent int64) int64 {
	keep := 100 - percent
	return allocatable/100*keep + allocatable%100*keep/100
}

// PreFilter precomputes the pod's checks and skips Filter for pods no reservation
// binds (at or above every bound, or requesting none of the reserved resources).
func (pl *PriorityHeadroom) PreFilter(_ context.Context, cs fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	checks := pl.checksFor(pod)
	if len(checks) == 0 {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	cs.Write(preFilterStateKey, &preFilterState{checks: checks, resizing: resize.Deferred(pl.enableInPlacePodVerticalScalingSchedulerPreemption, pod)})
	return nil, nil
}

// PreFilterExtensions returns nil: the state does not depend on other pods.
func (pl *PriorityHeadroom) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

// Filter rejects the node when the pod would take a reserved share of a resource. It
// reads requested amounts from the NodeInfo, so preemption's dry run, which removes
// victims from it, sees the headroom they free.
//
// A pod whose in-place resize the kubelet deferred is judged, not skipped: growing a
// running low-priority pod into the reserved share takes the headroom as surely as
// placing a new one, and if Filter passed it, the preemption the scheduler runs for the
// resize would evict only enough for NodeResourcesFit and leave the reserve filled. On
// its own node the NodeInfo already counts the pod at its desired size, so Filter
// counts only its growth over that entry, as NodeResourcesFit does; the pod already
// holds its pod slot. Whether it could fit at all (Unresolvable) is still judged at its
// full size.
func (pl *PriorityHeadroom) Filter(_ context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	s, err := getPreFilterState(cs)
	if err != nil {
		return fwk.AsStatus(err)
	}
	var held fwk.Resource
	if s.resizing {
		if pi := resize.Held(nodeInfo, pod); pi != nil {
			held = pi.CalculateResource().Resource
		}
	}
	allocatable, requested := nodeInfo.GetAllocatable(), nodeInfo.GetRequested()
	for i := range s.checks {
		c := &s.checks[i]
		alloc := nodeAmount(allocatable, c.rule)
		if alloc <= 0 {
			// The node offers none: there is nothing to reserve, and NodeResourcesFit
			// (or DRA, for extended resources it backs) judges the pod there.
			continue
		}
		var used int64
		if c.kind == kindPods {
			used = int64(len(nodeInfo.GetPods()))
		} else {
			used = nodeAmount(requested, c.rule)
		}
		lim := limit(alloc, c.percent)
		if growth(c, held) > lim-used {
			if c.request > lim {
				// Even an empty node would not take it: preemption cannot help.
				c.rejected.Inc()
				return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, c.message)
			}
			c.rejected.Inc()
			return fwk.NewStatus(fwk.Unschedulable, c.message)
		}
	}
	return nil
}

// growth is what placing the pod adds to the node's amount of c's resource: its
// request, or for a resize judged on its own node (held: the node's entry for the pod)
// what the request exceeds that entry by.
func growth(c *check, held fwk.Resource) int64 {
	switch {
	case held == nil:
		return c.request
	case c.kind == kindPods:
		return 0
	}
	return max(0, c.request-nodeAmount(held, c.rule))
}

// SignPod signs the reservation tier and the pod's requests of the reserved resources:
// two pods alike in both get the same answer from Filter on every node, so
// opportunistic batching stays on.
func (pl *PriorityHeadroom) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	k := pl.tier(corev1helpers.PodPriority(pod))
	if len(pl.tiers[k]) == 0 {
		return []fwk.SignFragment{{Key: tierSignerName, Value: k}}, nil
	}
	req := pl.requests(pod)
	amounts := make([]int64, len(pl.tiers[k]))
	for i, r := range pl.tiers[k] {
		amounts[i] = amount(req, r)
	}
	return []fwk.SignFragment{
		{Key: tierSignerName, Value: k},
		{Key: requestsSignerName, Value: amounts},
	}, nil
}

// EventsToRegister lists what can free headroom for a pod this plugin rejected: a
// scheduled pod leaving or shrinking, a node joining or growing, and for a deferred
// resize, the pod itself asking for less.
func (pl *PriorityHeadroom) EventsToRegister(_ context.Context) ([]fwk.ClusterEventWithHint, error) {
	events := []fwk.ClusterEventWithHint{
		{Event: fwk.ClusterEvent{Resource: fwk.AssignedPod, ActionType: fwk.Delete}, QueueingHintFn: pl.isSchedulableAfterPodChange},
		{Event: fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeAllocatable}, QueueingHintFn: pl.isSchedulableAfterNodeChange},
	}
	if pl.enableInPlaceScaling {
		events = append(events, fwk.ClusterEventWithHint{
			Event: fwk.ClusterEvent{Resource: fwk.AssignedPod, ActionType: fwk.UpdatePodScaleDown}, QueueingHintFn: pl.isSchedulableAfterPodChange})
	}
	if pl.enableInPlacePodVerticalScalingSchedulerPreemption {
		events = append(events, resize.ShrinkEvent)
	}
	return events, nil
}

// isSchedulableAfterPodChange queues the pod when a pod that held node resources was
// deleted or scaled down.
func (pl *PriorityHeadroom) isSchedulableAfterPodChange(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	oldPod, newPod, err := schedutil.As[*v1.Pod](oldObj, newObj)
	if err != nil {
		return fwk.Queue, err
	}
	changed := newPod
	if changed == nil {
		changed = oldPod
	}
	if changed.Spec.NodeName == "" && changed.Status.NominatedNodeName == "" {
		logger.V(5).Info("a pod that held no node's resources changed; headroom is unchanged", "pod", klog.KObj(pod), "changedPod", klog.KObj(changed))
		return fwk.QueueSkip, nil
	}
	logger.V(5).Info("a scheduled pod was deleted or shrank, freeing headroom", "pod", klog.KObj(pod), "changedPod", klog.KObj(changed))
	return fwk.Queue, nil
}

// isSchedulableAfterNodeChange queues the pod for a new node whose reserve-free share
// could hold it, or for a node whose allocatable grew in a resource the pod is held
// back on.
func (pl *PriorityHeadroom) isSchedulableAfterNodeChange(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	oldNode, newNode, err := schedutil.As[*v1.Node](oldObj, newObj)
	if err != nil {
		return fwk.Queue, err
	}
	checks := pl.checksFor(pod)
	if len(checks) == 0 {
		return fwk.Queue, nil // not held back by this plugin (args changed?): let others decide
	}
	newAlloc := framework.NewResource(newNode.Status.Allocatable)
	if oldNode == nil {
		for _, c := range checks {
			if a := nodeAmount(newAlloc, c.rule); a > 0 && c.request > limit(a, c.percent) {
				logger.V(5).Info("new node is too small for the pod under the headroom rule", "pod", klog.KObj(pod), "node", klog.KObj(newNode), "rule", c.message)
				return fwk.QueueSkip, nil
			}
		}
		return fwk.Queue, nil
	}
	oldAlloc := framework.NewResource(oldNode.Status.Allocatable)
	for _, c := range checks {
		if nodeAmount(newAlloc, c.rule) > nodeAmount(oldAlloc, c.rule) {
			logger.V(5).Info("node's allocatable grew in a reserved resource", "pod", klog.KObj(pod), "node", klog.KObj(newNode), "resource", c.name)
			return fwk.Queue, nil
		}
	}
	return fwk.QueueSkip, nil
}

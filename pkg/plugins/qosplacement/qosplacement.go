// Package qosplacement places pods by QoS class with the kubelet's memory eviction in
// mind. Upstream scheduling looks only at requests, so a node can collect Burstable pods
// whose memory limits add up to many times its memory: when they burst together, the
// kubelet evicts (BestEffort first, then Burstable pods above their requests) or the
// kernel OOM-kills. QoSPlacement bounds that overcommit for Burstable pods (Filter) and
// steers every pod away from nodes where it is most at risk (Score).
package qosplacement

import (
	"context"
	"fmt"
	"math"
	"math/bits"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/component-base/metrics"
	resourcehelper "k8s.io/component-helpers/resource"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
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
	Name = "QoSPlacement"

	preFilterStateKey = "PreFilter" + Name
	preScoreStateKey  = "PreScore" + Name

	// qosClassSignerName and memoryLimitSignerName name the sign fragments of
	// everything Filter and Score read from the pod, in upstream's form (the pod field,
	// then what the plugin derives from it): its QoS class and its memory limit as the
	// plugin counts it.
	qosClassSignerName    = "v1.Pod.Status.QOSClass"
	memoryLimitSignerName = "v1.Pod.Spec.ContainerLimitsAndOverheads().QoSPlacementMemoryLimit()"
)

// QoSPlacement is the memory-limit overcommit guard (Filter) and the eviction-risk score.
type QoSPlacement struct {
	handle fwk.Handle
	// percent is maxMemoryLimitOvercommitPercent; 0 = guard off.
	percent int64
	// podOpts computes the limits of pods on nodes as upstream computes their requests in
	// NodeInfo (status resources after in-place resizes, pod-level resources); specOpts
	// computes the incoming pod's, from its spec, as NodeResourcesFit does.
	podOpts  resourcehelper.PodResourcesOptions
	specOpts resourcehelper.PodResourcesOptions
	limits   *limitCache
	// rejected counts the guard's rejections: berth_plugin_rejections_total, rule
	// memory-limit-overcommit.
	rejected metrics.CounterMetric

	enableInPlacePodVerticalScaling                    bool
	enableInPlacePodVerticalScalingSchedulerPreemption bool
}

var (
	_ fwk.PreFilterPlugin   = &QoSPlacement{}
	_ fwk.FilterPlugin      = &QoSPlacement{}
	_ fwk.PreScorePlugin    = &QoSPlacement{}
	_ fwk.ScorePlugin       = &QoSPlacement{}
	_ fwk.ScoreExtensions   = &QoSPlacement{}
	_ fwk.EnqueueExtensions = &QoSPlacement{}
	_ fwk.SignPlugin        = &QoSPlacement{}
)

// New builds the plugin from QoSPlacementArgs and the scheduler's features.
func New(_ context.Context, obj runtime.Object, h fwk.Handle, fts plfeature.Features) (fwk.Plugin, error) {
	var args config.QoSPlacementArgs
	if err := config.Decode(Name, obj, &args); err != nil {
		return nil, err
	}
	pl := &QoSPlacement{
		rejected: rejections.For(Name, "memory-limit-overcommit"),
		handle:   h,
		percent:  int64(*args.MaxMemoryLimitOvercommitPercent),
		podOpts: resourcehelper.PodResourcesOptions{
			UseStatusResources: fts.EnableInPlacePodVerticalScaling,
			InPlacePodLevelResourcesVerticalScalingEnabled: fts.EnableInPlacePodLevelResourcesVerticalScaling,
			SkipPodLevelResources:                          !fts.EnablePodLevelResources,
		},
		specOpts: resourcehelper.PodResourcesOptions{
			SkipPodLevelResources: !fts.EnablePodLevelResources,
		},
		enableInPlacePodVerticalScaling:                    fts.EnableInPlacePodVerticalScaling,
		enableInPlacePodVerticalScalingSchedulerPreemption: fts.EnableInPlacePodVerticalScalingSchedulerPreemption,
	}
	pl.limits = newLimitCache(func(p *v1.Pod) int64 { return memoryLimit(p, pl.podOpts) })
	return pl, nil
}

// Name returns the plugin's name.
func (pl *QoSPlacement) Name() string { return Name }

// podState is what PreFilter and PreScore precompute for the pod.
type podState struct {
	qos v1.PodQOSClass
	// limit is the pod's own memory limit (memoryLimit), in bytes.
	limit int64
	// resizing: the pod is bound and the scheduler judges its deferred resize
	// (resize.Deferred); on its own node Filter counts only its growth.
	resizing bool
}

// Clone shares the state: it is never modified after it is written.
func (s *podState) Clone() fwk.StateData { return s }

func getPreFilterState(cs fwk.CycleState) (*podState, error) {
	return cyclestate.Read[*podState](cs, preFilterStateKey, "preFilter")
}

func getPreScoreState(cs fwk.CycleState) (*podState, error) {
	return cyclestate.Read[*podState](cs, preScoreStateKey, "preScore")
}

// SignPod signs the pod's QoS class and memory limit: pods equal in both get the same
// answers from Filter and Score on the same nodes.
func (pl *QoSPlacement) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	return []fwk.SignFragment{
		{Key: qosClassSignerName, Value: qos.GetPodQOS(pod)},
		{Key: memoryLimitSignerName, Value: memoryLimit(pod, pl.specOpts)},
	}, nil
}

// PreFilter computes the pod's memory limit once. Only Burstable pods are guarded:
// BestEffort pods (no limits; the kubelet evicts them first anyway) and Guaranteed pods
// (limits equal requests, which NodeResourcesFit already keeps within allocatable) skip
// Filter, as does every pod when the guard is off.
func (pl *QoSPlacement) PreFilter(_ context.Context, cs fwk.CycleState, pod *v1.Pod, nodes []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	pl.limits.maintain(nodes)
	if pl.percent == 0 {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	q := qos.GetPodQOS(pod)
	if q != v1.PodQOSBurstable {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	cs.Write(preFilterStateKey, &podState{
		qos:      q,
		limit:    memoryLimit(pod, pl.specOpts),
		resizing: resize.Deferred(pl.enableInPlacePodVerticalScalingSchedulerPreemption, pod),
	})
	return nil, nil
}

// PreFilterExtensions returns nil: Filter sums the limits of the pods in the NodeInfo
// it is given, so pods that preemption's dry run removes, and nominated pods the
// framework adds, are counted without being told.
func (pl *QoSPlacement) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

// Filter rejects the node when the pod's memory limit would bring the node's sum of
// memory limits above allocatable × percent / 100. Reaching the bound exactly passes.
// A pod whose own limit is above the bound is rejected as unresolvable: no eviction
// could make room for it.
//
// A Burstable pod whose in-place resize the kubelet deferred is judged, not skipped:
// the resize raises the limits the node holds as placing a pod does, and if Filter
// passed it, the preemption the scheduler runs for the resize would free requests for
// NodeResourcesFit and leave the overcommit above the bound. On its own node the
// NodeInfo already counts the pod, at the larger of its desired and actuated limits,
// so Filter adds only what its limit exceeds that entry by, as NodeResourcesFit does
// with requests.
func (pl *QoSPlacement) Filter(_ context.Context, cs fwk.CycleState, pod *v1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	s, err := getPreFilterState(cs)
	if err != nil {
		return fwk.AsStatus(err)
	}
	allocatable := nodeInfo.GetAllocatable().GetMemory()
	allowed := percentOf(allocatable, pl.percent)
	growth := s.limit
	if s.resizing {
		if pi := resize.Held(nodeInfo, pod); pi != nil {
			growth = max(0, s.limit-pl.limits.get(pi.GetPod()))
		}
	}
	total := addSat(pl.limits.nodeSum(nodeInfo), growth)
	if total <= allowed {
		return nil
	}
	// No "%" sign in the reasons: the scheduler records FailedScheduling events with
	// them as a format string, which would mangle them.
	pl.rejected.Inc()
	if s.limit > allowed {
		// Even an empty node would not take it: preemption cannot help, so it is not
		// tried (as PriorityHeadroom does for a pod larger than the unreserved share).
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(
			"pod's memory limit %s exceeds the %s allowed on the node even when empty (%d percent of allocatable %s)",
			formatBytes(s.limit), formatBytes(allowed), pl.percent, formatBytes(allocatable)))
	}
	// Unschedulable: preempting pods on the node lowers the sum.
	return fwk.NewStatus(fwk.Unschedulable, fmt.Sprintf(
		"memory limits on node would reach %s of %s allowed (%d percent of allocatable %s)",
		formatBytes(total), formatBytes(allowed), pl.percent, formatBytes(allocatable)))
}

// percentOf is v × percent / 100 for non-negative v, saturating at MaxInt64.
func percentOf(v, percent int64) int64 {
	if v <= 0 {
		return 0
	}
	if v > math.MaxInt64/percent {
		return math.MaxInt64
	}
	return v * percent / 100
}

func formatBytes(v int64) string {
	return resource.NewQuantity(v, resource.BinarySI).String()
}

// PreScore records the pod's QoS class, which chooses the score.
func (pl *QoSPlacement) PreScore(_ context.Context, cs fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) *fwk.Status {
	if pl.handle != nil && pl.handle.SnapshotSharedLister() != nil {
		if all, err := pl.handle.SnapshotSharedLister().NodeInfos().List(); err == nil {
			pl.limits.maintain(all)
		}
	}
	cs.Write(preScoreStateKey, &podState{qos: qos.GetPodQOS(pod)})
	return nil
}

// Score rates the node's eviction risk for the pod, from L = the sum of the memory
// limits of the pods on the node and A = its allocatable memory:
//
//   - BestEffort and Burstable pods: the memory slack max(0, A − L) in bytes.
//     NormalizeScore scales it to 0..MaxNodeScore relative to the largest slack.
//   - Guaranteed pods: MaxNodeScore × (A − min(L, A)) / A, already 0..MaxNodeScore
//     (0 if A is 0): the less of the node its neighbours may burst into, the better.
func (pl *QoSPlacement) Score(_ context.Context, cs fwk.CycleState, _ *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	s, err := getPreScoreState(cs)
	if err != nil {
		return 0, fwk.AsStatus(err)
	}
	allocatable := nodeInfo.GetAllocatable().GetMemory()
	if allocatable <= 0 {
		return 0, nil
	}
	free := allocatable - min(pl.limits.snapshotNodeSum(nodeInfo), allocatable)
	if s.qos == v1.PodQOSGuaranteed {
		return fraction(free, allocatable), nil
	}
	// Bounded so that NormalizeScore's MaxNodeScore × score cannot overflow.
	return min(free, math.MaxInt64/fwk.MaxNodeScore), nil
}

// fraction is MaxNodeScore × n / d for 0 <= n <= d, d > 0, without overflow.
func fraction(n, d int64) int64 {
	hi, lo := bits.Mul64(uint64(n), uint64(fwk.MaxNodeScore))
	q, _ := bits.Div64(hi, lo, uint64(d))
	return int64(q)
}

// ScoreExtensions returns the plugin: it normalizes the slack scores.
func (pl *QoSPlacement) ScoreExtensions() fwk.ScoreExtensions { return pl }

// NormalizeScore scales BestEffort and Burstable pods' slack to
// MaxNodeScore × slack / max(slack) (all 0 if no node has slack); Guaranteed pods'
// scores are already on the 0..MaxNodeScore scale and stay as they are.
func (pl *QoSPlacement) NormalizeScore(_ context.Context, cs fwk.CycleState, _ *v1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	s, err := getPreScoreState(cs)
	if err != nil {
		return fwk.AsStatus(err)
	}
	if s.qos == v1.PodQOSGuaranteed {
		return nil
	}
	return helper.DefaultNormalizeScore(fwk.MaxNodeScore, false, scores)
}

// EventsToRegister: a Burstable pod rejected by the guard can fit once limits leave a
// node (a pod deleted, or resized down in place), a node with room appears or grows, or
// for a deferred resize, the pod itself asks for less.
func (pl *QoSPlacement) EventsToRegister(_ context.Context) ([]fwk.ClusterEventWithHint, error) {
	events := []fwk.ClusterEventWithHint{
		{Event: fwk.ClusterEvent{Resource: fwk.AssignedPod, ActionType: fwk.Delete}, QueueingHintFn: pl.isSchedulableAfterPodDelete},
		{Event: fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeAllocatable}, QueueingHintFn: pl.isSchedulableAfterNodeChange},
	}
	if pl.enableInPlacePodVerticalScaling {
		events = append(events, fwk.ClusterEventWithHint{
			Event: fwk.ClusterEvent{Resource: fwk.AssignedPod, ActionType: fwk.UpdatePodScaleDown}, QueueingHintFn: pl.isSchedulableAfterPodScaleDown})
	}
	if pl.enableInPlacePodVerticalScalingSchedulerPreemption {
		events = append(events, resize.ShrinkEvent)
	}
	return events, nil
}

// isSchedulableAfterPodDelete queues the pod when the deleted pod was on (or nominated
// to) a node and counted towards its memory limits.
func (pl *QoSPlacement) isSchedulableAfterPodDelete(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	deleted, _, err := schedutil.As[*v1.Pod](oldObj, newObj)
	if err != nil {
		return fwk.Queue, err
	}
	if deleted.Spec.NodeName == "" && deleted.Status.NominatedNodeName == "" {
		return fwk.QueueSkip, nil
	}
	if memoryLimit(deleted, pl.podOpts) == 0 {
		logger.V(5).Info("deleted pod had no memory limit to free", "pod", klog.KObj(pod), "deletedPod", klog.KObj(deleted))
		return fwk.QueueSkip, nil
	}
	logger.V(5).Info("deleted pod freed memory limits", "pod", klog.KObj(pod), "deletedPod", klog.KObj(deleted))
	return fwk.Queue, nil
}

// isSchedulableAfterPodScaleDown queues the pod when an assigned pod's memory limit
// went down.
func (pl *QoSPlacement) isSchedulableAfterPodScaleDown(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	oldPod, newPod, err := schedutil.As[*v1.Pod](oldObj, newObj)
	if err != nil {
		return fwk.Queue, err
	}
	if memoryLimit(newPod, pl.podOpts) < memoryLimit(oldPod, pl.podOpts) {
		logger.V(5).Info("assigned pod's memory limit went down", "pod", klog.KObj(pod), "resizedPod", klog.KObj(newPod))
		return fwk.Queue, nil
	}
	return fwk.QueueSkip, nil
}

// isSchedulableAfterNodeChange queues the pod for a new node, or a node whose
// allocatable memory grew.
func (pl *QoSPlacement) isSchedulableAfterNodeChange(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	oldNode, newNode, err := schedutil.As[*v1.Node](oldObj, newObj)
	if err != nil {
		return fwk.Queue, err
	}
	if oldNode == nil {
		return fwk.Queue, nil
	}
	oldMem, newMem := oldNode.Status.Allocatable[v1.ResourceMemory], newNode.Status.Allocatable[v1.ResourceMemory]
	if newMem.Cmp(oldMem) > 0 {
		logger.V(5).Info("node's allocatable memory grew", "pod", klog.KObj(pod), "node", klog.KObj(newNode))
		return fwk.Queue, nil
	}
	return fwk.QueueSkip, nil
}

// Package resize helps berth's resource filters judge an in-place resize that the
// kubelet deferred. With the InPlacePodVerticalScalingSchedulerPreemption gate (alpha in
// v1.37) the scheduler queues such a pod again, although it is bound and running: it
// runs the filters on the pod's own node (DeferredPodScheduling rejects every other
// node), Permit holds the pod if the resize fits, and PostFilter preempts lower-priority
// pods on that node if it does not. The scheduler's NodeInfo already counts the pod,
// at the larger of its desired and its actuated resources, so a filter that added the
// pod's requests again would count it twice; NodeResourcesFit counts only the growth
// (adjustDeltasToAccomodateCacheDiscrepancy), and so do berth's resource filters.
package resize

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/component-helpers/resource"
	fwk "k8s.io/kube-scheduler/framework"
)

// ShrinkEvent is what a resource filter that judges deferred resizes registers, so that
// a resize it rejected is tried again when the pod asks for less (NodeResourcesFit
// queues the pod on this event too). Without a hint the pod is always queued.
var ShrinkEvent = fwk.ClusterEventWithHint{Event: fwk.ClusterEvent{Resource: fwk.TargetPod, ActionType: fwk.UpdatePodScaleDown}}

// Deferred reports whether pod is a bound pod whose resize the kubelet deferred and the
// scheduler now judges, which it does only when enabled
// (fts.EnableInPlacePodVerticalScalingSchedulerPreemption).
func Deferred(enabled bool, pod *v1.Pod) bool {
	return enabled && pod.Spec.NodeName != "" && resource.IsPodResizeDeferred(pod)
}

// Held returns the PodInfo under which nodeInfo already counts pod: the node's entry
// for the pod's UID when pod is bound to that node, nil otherwise (another node, or a
// cache that has not seen the pod yet). It allocates nothing.
func Held(nodeInfo fwk.NodeInfo, pod *v1.Pod) fwk.PodInfo {
	node := nodeInfo.Node()
	if node == nil || pod.Spec.NodeName != node.Name {
		return nil
	}
	for _, pi := range nodeInfo.GetPods() {
		if p := pi.GetPod(); p != nil && p.UID == pod.UID {
			return pi
		}
	}
	return nil
}

package qosplacement

import (
	"maps"
	"math"
	"slices"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// memoryLimit is a pod's memory limit as the guard and the score count it: upstream's
// PodLimits (so init containers, restartable init containers (sidecars), pod overhead
// and pod-level resources count as upstream counts them), except that a container
// without a memory limit counts at its memory request, and a pod-level memory request
// without a pod-level memory limit raises the total to at least that request. A
// container with neither counts 0: it is BestEffort-like and the kubelet evicts it first.
// Never negative; saturates at MaxInt64.
//
// It allocates (PodLimits builds ResourceLists), which is why Filter and Score read it
// through limitCache.
func memoryLimit(pod *v1.Pod, opts resourcehelper.PodResourcesOptions) int64 {
	opts.Reuse = nil
	limits := resourcehelper.PodLimits(withMemoryLimitAtRequest(pod), opts)
	v := bytesOf(limits[v1.ResourceMemory])
	if !opts.SkipPodLevelResources && pod.Spec.Resources != nil {
		if _, limited := pod.Spec.Resources.Limits[v1.ResourceMemory]; !limited {
			if req, ok := pod.Spec.Resources.Requests[v1.ResourceMemory]; ok {
				v = max(v, bytesOf(req))
			}
		}
	}
	return v
}

// withMemoryLimitAtRequest returns pod itself when every container that requests memory
// also limits it, else a copy in which those containers are limited at their request.
func withMemoryLimitAtRequest(pod *v1.Pod) *v1.Pod {
	if !anyUnlimitedRequest(pod.Spec.Containers) && !anyUnlimitedRequest(pod.Spec.InitContainers) {
		return pod
	}
	// A shallow copy with copied container slices: limitAtRequest replaces (never
	// modifies) the maps it changes, so the original pod is untouched.
	p := *pod
	p.Spec.Containers = slices.Clone(pod.Spec.Containers)
	p.Spec.InitContainers = slices.Clone(pod.Spec.InitContainers)
	limitAtRequest(p.Spec.Containers)
	limitAtRequest(p.Spec.InitContainers)
	return &p
}

func anyUnlimitedRequest(cs []v1.Container) bool {
	for i := range cs {
		if unlimitedRequest(&cs[i]) {
			return true
		}
	}
	return false
}

func unlimitedRequest(c *v1.Container) bool {
	_, limited := c.Resources.Limits[v1.ResourceMemory]
	_, requested := c.Resources.Requests[v1.ResourceMemory]
	return !limited && requested
}

func limitAtRequest(cs []v1.Container) {
	for i := range cs {
		c := &cs[i]
		if !unlimitedRequest(c) {
			continue
		}
		limits := make(v1.ResourceList, len(c.Resources.Limits)+1)
		maps.Copy(limits, c.Resources.Limits)
		limits[v1.ResourceMemory] = c.Resources.Requests[v1.ResourceMemory]
		c.Resources.Limits = limits
	}
}

var maxBytes = *resource.NewQuantity(math.MaxInt64, resource.BinarySI)

// bytesOf is q in bytes, 0 if negative, MaxInt64 if beyond.
func bytesOf(q resource.Quantity) int64 {
	if q.Sign() <= 0 {
		return 0
	}
	if q.Cmp(maxBytes) >= 0 {
		return math.MaxInt64
	}
	return q.Value()
}

// addSat adds non-negative a and b, saturating at MaxInt64.
func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

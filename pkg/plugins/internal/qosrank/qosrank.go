// Package qosrank is the one order of the QoS classes berth's plugins share: how well
// the kubelet protects a pod of the class under node pressure. PriorityQoSSort
// schedules the better-protected classes first; QoSAwarePreemption spares them first
// and counts victims per class by it.
package qosrank

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
)

// Rank is a QoS class's place in the order; a higher rank is better protected.
type Rank int

const (
	// BestEffort pods are the first the kubelet evicts under memory pressure.
	BestEffort Rank = iota
	// Burstable pods come next.
	Burstable
	// Guaranteed pods are evicted last.
	Guaranteed

	// Count is the number of ranks, for arrays indexed by Rank.
	Count = int(Guaranteed) + 1
)

// Of ranks a QoS class. A class the API does not define ranks as BestEffort: nothing
// vouches for its protection.
func Of(c v1.PodQOSClass) Rank {
	switch c {
	case v1.PodQOSGuaranteed:
		return Guaranteed
	case v1.PodQOSBurstable:
		return Burstable
	}
	return BestEffort
}

// OfPod ranks a pod's QoS class: the apiserver's pod.Status.QOSClass, read through
// qos.GetPodQOS, which computes the class only for pods that lack it (not seen from an
// apiserver).
func OfPod(p *v1.Pod) Rank {
	return Of(qos.GetPodQOS(p))
}

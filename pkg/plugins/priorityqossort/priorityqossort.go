// Package priorityqossort orders the scheduling queue by priority, then by QoS class,
// then by enqueue time. Among pods of equal priority, Guaranteed pods declare exactly
// what they need and are the last the kubelet evicts under pressure; scheduling them
// first places the workloads that asked for firm capacity before the ones that did not.
package priorityqossort

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/berth-sched/berth/pkg/apis/config"
	"github.com/berth-sched/berth/pkg/plugins/internal/qosrank"
)

// Name is the plugin's name in the registry and in scheduler configurations.
const Name = "PriorityQoSSort"

// PriorityQoSSort replaces upstream's PrioritySort: higher priority first; at equal
// priority Guaranteed, then Burstable, then BestEffort; then the earlier enqueue time.
type PriorityQoSSort struct{}

var _ fwk.QueueSortPlugin = &PriorityQoSSort{}

// New builds the plugin. It takes no arguments; any given are rejected.
func New(_ context.Context, obj runtime.Object, _ fwk.Handle) (fwk.Plugin, error) {
	if err := config.Decode(Name, obj, &config.NoArgs{}); err != nil {
		return nil, err
	}
	return &PriorityQoSSort{}, nil
}

// Name returns the plugin's name.
func (pl *PriorityQoSSort) Name() string { return Name }

// Less reports whether e1 is scheduled before e2: higher priority, then the better
// protected QoS class (qosrank), then the earlier enqueue time. QoS is read only when
// priorities tie, so the common case costs what PrioritySort costs.
func (pl *PriorityQoSSort) Less(e1, e2 fwk.QueuedEntityInfo) bool {
	p1, p2 := e1.GetPriority(), e2.GetPriority()
	if p1 != p2 {
		return p1 > p2
	}
	if r1, r2 := rankOf(e1), rankOf(e2); r1 != r2 {
		return r1 > r2
	}
	return e1.GetTimestamp().Before(e2.GetTimestamp())
}

// rankPodGroup places a pod group (gang), which has no QoS class of its own, with
// Burstable pods: neither ahead of Guaranteed pods nor behind BestEffort ones. A fixed
// rank, rather than comparing groups by time only, keeps Less a strict weak order
// (transitive) when the queue holds groups and pods of one priority.
const rankPodGroup = qosrank.Burstable

// podInfoGetter is what a queued single pod offers besides QueuedEntityInfo.
type podInfoGetter interface {
	GetPodInfo() fwk.PodInfo
}

// rankOf is the entity's QoS rank (qosrank.OfPod), rankPodGroup for a pod group.
func rankOf(e fwk.QueuedEntityInfo) qosrank.Rank {
	var pod *v1.Pod
	switch q := e.(type) {
	case *framework.QueuedPodInfo:
		if q.PodInfo != nil {
			pod = q.Pod
		}
	case podInfoGetter:
		if pi := q.GetPodInfo(); pi != nil {
			pod = pi.GetPod()
		}
	}
	if pod == nil {
		return rankPodGroup
	}
	return qosrank.OfPod(pod)
}

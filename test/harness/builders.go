package harness

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/manifests"
)

// pauseImage is what test pods "run"; no kubelet pulls it.
const pauseImage = "registry.k8s.io/pause:3.10"

// Node is localcluster.Node (a node the simulator manages, in zone if not empty) with
// the given allocatable cpu, memory and pod count, in upstream's wrapper so that tests
// add labels and taints with Label and Taints.
func Node(name, cpu, memory string, pods int, zone string) *st.NodeWrapper {
	return &st.NodeWrapper{Node: *localcluster.Node(name, v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse(cpu),
		v1.ResourceMemory: resource.MustParse(memory),
		v1.ResourcePods:   *resource.NewQuantity(int64(pods), resource.DecimalSI),
	}, zone)}
}

// PriorityClass builds a PriorityClass; policy may be empty (PreemptLowerPriority).
func PriorityClass(name string, value int32, policy v1.PreemptionPolicy) *schedulingv1.PriorityClass {
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value}
	if policy != "" {
		pc.PreemptionPolicy = &policy
	}
	return pc
}

// Resources is a shorthand for a container's resource list, e.g. {"cpu": "500m"}.
type Resources map[v1.ResourceName]string

// BestEffortPod is a pod whose container declares no requests and no limits, scheduled
// by berth.
func BestEffortPod(ns, name string) *st.PodWrapper {
	return pod(ns, name, st.MakeContainer().Name("app").Image(pauseImage).Obj())
}

// BurstablePod is a pod whose container requests req and is limited at lim (lim may be
// nil, or differ from req in some resource), scheduled by berth.
func BurstablePod(ns, name string, req, lim Resources) *st.PodWrapper {
	// Upstream's ContainerWrapper.ResourceLimits replaces the requests it would keep, so
	// combine the two halves here.
	c := st.MakeContainer().Name("app").Image(pauseImage).Obj()
	c.Resources.Requests = st.MakeContainer().ResourceRequests(req).Obj().Resources.Requests
	if len(lim) > 0 {
		c.Resources.Limits = st.MakeContainer().ResourceLimits(lim).Obj().Resources.Limits
	}
	return pod(ns, name, c)
}

// GuaranteedPod is a pod whose container requests and is limited at res (cpu and memory
// must both be set for the Guaranteed class), scheduled by berth.
func GuaranteedPod(ns, name string, res Resources) *st.PodWrapper {
	return pod(ns, name, st.MakeContainer().Name("app").Image(pauseImage).Resources(res).Obj())
}

func pod(ns, name string, c v1.Container) *st.PodWrapper {
	return st.MakePod().Namespace(ns).Name(name).SchedulerName(manifests.SchedulerName).
		Containers([]v1.Container{c})
}

// PDB is upstream's PodDisruptionBudget wrapper, re-exported so tests find every builder
// in one place.
var PDB = st.MakePDB

// EnsurePriorityClasses creates the classes that do not exist yet. Pods then use them
// by priorityClassName: the API server's Priority admission rejects a pod that sets
// spec.priority itself.
func EnsurePriorityClasses(ctx context.Context, client kubernetes.Interface, classes ...*schedulingv1.PriorityClass) error {
	for _, pc := range classes {
		_, err := client.SchedulingV1().PriorityClasses().Create(ctx, pc, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("priority class %s: %w", pc.Name, err)
		}
	}
	return nil
}

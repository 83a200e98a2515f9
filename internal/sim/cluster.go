package sim

import (
	"context"
	"fmt"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"

	"github.com/berth-sched/berth/internal/sim/workload"
)

// ClusterState is a live cluster, read once, as berth-sim explains a pod on it: the
// nodes and the pods bound to them become a workload that starts with them, the pod to
// explain arrives at once, and every other object the scheduler's plugins read goes
// into the simulated API server as it is.
type ClusterState struct {
	Workload *workload.Workload
	// Objects are the other objects the scheduler reads (Options.Objects).
	Objects []runtime.Object
	// Target is the pod to explain, namespace/name; BoundTo is the node it is bound to
	// in the cluster ("" if it is pending): it is then explained as if it were pending.
	Target, BoundTo string
	// Pending counts pods other than the target that wait for a scheduler: they are not
	// part of the state explained (nor are their nominations).
	Pending int
	// ReadAt is when the cluster was read.
	ReadAt time.Time
}

// ClusterReads are the resources ReadCluster lists, each with what it is for: what a
// scheduler profile's plugins read, and nothing else (manifests/explain grants exactly
// these, get/list/watch only).
var ClusterReads = []struct{ Group, Resource, Why string }{
	{"", "nodes", "the cluster"},
	{"", "pods", "what runs where, and the pod to explain"},
	{"", "namespaces", "pod affinity's namespace selectors"},
	{"scheduling.k8s.io", "priorityclasses", "priorities"},
	{"policy", "poddisruptionbudgets", "preemption's budget violations"},
	{"", "services", "PodTopologySpread's default constraints"},
	{"", "replicationcontrollers", "PodTopologySpread's default constraints"},
	{"apps", "replicasets", "PodTopologySpread's default constraints"},
	{"apps", "statefulsets", "PodTopologySpread's default constraints"},
	{"", "persistentvolumeclaims", "volume plugins"},
	{"", "persistentvolumes", "volume plugins"},
	{"storage.k8s.io", "storageclasses", "volume plugins"},
	{"storage.k8s.io", "csinodes", "volume limits"},
	{"storage.k8s.io", "csidrivers", "volume limits"},
	{"storage.k8s.io", "csistoragecapacities", "volume binding"},
	{"resource.k8s.io", "resourceclaims", "dynamic resource allocation"},
	{"resource.k8s.io", "resourceslices", "dynamic resource allocation"},
	{"resource.k8s.io", "deviceclasses", "dynamic resource allocation"},
}

// ReadCluster reads what the scheduler would see of the cluster, read-only, and turns
// it into the state to explain target (namespace/name) on.
func ReadCluster(ctx context.Context, c kubernetes.Interface, target string) (*ClusterState, error) {
	s := &ClusterState{Target: target, ReadAt: time.Now()}
	w := &workload.Workload{}
	s.Workload = w
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, readErr("nodes", err)
	}
	for i := range nodes.Items {
		w.Nodes = append(w.Nodes, clean(&nodes.Items[i]).(*v1.Node))
	}
	namespaces, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, readErr("namespaces", err)
	}
	for i := range namespaces.Items {
		w.Namespaces = append(w.Namespaces, clean(&namespaces.Items[i]).(*v1.Namespace))
	}
	classes, err := c.SchedulingV1().PriorityClasses().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, readErr("priorityclasses", err)
	}
	for i := range classes.Items {
		w.PriorityClasses = append(w.PriorityClasses, clean(&classes.Items[i]).(*schedulingv1.PriorityClass))
	}
	pdbs, err := c.PolicyV1().PodDisruptionBudgets("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, readErr("poddisruptionbudgets", err)
	}
	for i := range pdbs.Items {
		w.PDBs = append(w.PDBs, clean(&pdbs.Items[i]).(*policyv1.PodDisruptionBudget))
	}
	pods, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, readErr("pods", err)
	}
	var targetPod *v1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		switch {
		case p.Namespace+"/"+p.Name == target:
			targetPod = p
		case p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed:
			// Gone for the scheduler: its pod informer leaves them out.
		case p.Spec.NodeName != "":
			w.Pods = append(w.Pods, workload.Pod{Pod: clean(p).(*v1.Pod), Group: "cluster"})
		default:
			s.Pending++
		}
	}
	if targetPod == nil {
		return nil, fmt.Errorf("--pod %s: no such pod in the cluster", target)
	}
	s.BoundTo = targetPod.Spec.NodeName
	pending := clean(targetPod).(*v1.Pod)
	// As if it were pending now: unbound, with no scheduling history.
	pending.Spec.NodeName = ""
	pending.Status = v1.PodStatus{Phase: v1.PodPending, QOSClass: targetPod.Status.QOSClass}
	w.Pods = append(w.Pods, workload.Pod{Pod: pending, Group: "explained"})
	sort.SliceStable(w.Pods, func(i, j int) bool { return w.Pods[i].Group == "cluster" && w.Pods[j].Group != "cluster" })
	if s.Objects, err = readObjects(ctx, c); err != nil {
		return nil, err
	}
	return s, nil
}

// readObjects lists the objects the scheduler reads besides the workload's kinds.
func readObjects(ctx context.Context, c kubernetes.Interface) ([]runtime.Object, error) {
	var objs []runtime.Object
	add := func(resource string, list func() ([]runtime.Object, error)) error {
		items, err := list()
		if err != nil {
			if apierrors.IsNotFound(err) {
				return nil // an API group the cluster does not serve
			}
			return readErr(resource, err)
		}
		for _, o := range items {
			objs = append(objs, clean(o))
		}
		return nil
	}
	o := metav1.ListOptions{}
	steps := []struct {
		resource string
		list     func() ([]runtime.Object, error)
	}{
		{"services", func() ([]runtime.Object, error) { l, err := c.CoreV1().Services("").List(ctx, o); return items(l, err) }},
		{"replicationcontrollers", func() ([]runtime.Object, error) {
			l, err := c.CoreV1().ReplicationControllers("").List(ctx, o)
			return items(l, err)
		}},
		{"replicasets", func() ([]runtime.Object, error) {
			l, err := c.AppsV1().ReplicaSets("").List(ctx, o)
			return items(l, err)
		}},
		{"statefulsets", func() ([]runtime.Object, error) {
			l, err := c.AppsV1().StatefulSets("").List(ctx, o)
			return items(l, err)
		}},
		{"persistentvolumeclaims", func() ([]runtime.Object, error) {
			l, err := c.CoreV1().PersistentVolumeClaims("").List(ctx, o)
			return items(l, err)
		}},
		{"persistentvolumes", func() ([]runtime.Object, error) {
			l, err := c.CoreV1().PersistentVolumes().List(ctx, o)
			return items(l, err)
		}},
		{"storageclasses", func() ([]runtime.Object, error) {
			l, err := c.StorageV1().StorageClasses().List(ctx, o)
			return items(l, err)
		}},
		{"csinodes", func() ([]runtime.Object, error) {
			l, err := c.StorageV1().CSINodes().List(ctx, o)
			return items(l, err)
		}},
		{"csidrivers", func() ([]runtime.Object, error) {
			l, err := c.StorageV1().CSIDrivers().List(ctx, o)
			return items(l, err)
		}},
		{"csistoragecapacities", func() ([]runtime.Object, error) {
			l, err := c.StorageV1().CSIStorageCapacities("").List(ctx, o)
			return items(l, err)
		}},
		{"resourceclaims", func() ([]runtime.Object, error) {
			l, err := c.ResourceV1().ResourceClaims("").List(ctx, o)
			return items(l, err)
		}},
		{"resourceslices", func() ([]runtime.Object, error) {
			l, err := c.ResourceV1().ResourceSlices().List(ctx, o)
			return items(l, err)
		}},
		{"deviceclasses", func() ([]runtime.Object, error) {
			l, err := c.ResourceV1().DeviceClasses().List(ctx, o)
			return items(l, err)
		}},
	}
	for _, s := range steps {
		if err := add(s.resource, s.list); err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// items returns a typed list's items as objects.
func items(list runtime.Object, err error) ([]runtime.Object, error) {
	if err != nil {
		return nil, err
	}
	return meta.ExtractList(list)
}

func readErr(resource string, err error) error {
	if apierrors.IsForbidden(err) {
		return fmt.Errorf("reading %s: %w (berth-sim explain needs get, list and watch on it: manifests/explain/clusterrole.yaml)", resource, err)
	}
	return fmt.Errorf("reading %s: %w", resource, err)
}

// clean is a copy of an object without what the API server manages (resource version,
// managed fields): the simulated API server keeps its own.
func clean(obj runtime.Object) runtime.Object {
	o := obj.DeepCopyObject()
	if m, err := meta.Accessor(o); err == nil {
		m.SetResourceVersion("")
		m.SetManagedFields(nil)
		if _, isPod := o.(*v1.Pod); isPod {
			// The engine gives pods UIDs of its own, by name.
			m.SetUID("")
		}
	}
	return o
}

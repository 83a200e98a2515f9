// Package workload is what berth-sim replays: a cluster (nodes, PriorityClasses,
// namespaces, PodDisruptionBudgets) and the pods that arrive in it, each at a virtual
// time and for a duration. Workloads come from a scenario file or a cluster trace; a
// Workload is complete and valid once built, and every run of a comparison replays
// the same one.
package workload

import (
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
)

// Workload is a cluster and the pods that arrive in it.
type Workload struct {
	Nodes           []*v1.Node
	PriorityClasses []*schedulingv1.PriorityClass
	Namespaces      []*v1.Namespace
	PDBs            []*policyv1.PodDisruptionBudget
	// Pods in arrival order; pods arriving at the same time are created in this order.
	Pods []Pod
}

// Pod is one pod of the workload.
type Pod struct {
	// Pod is the object as the API server would hold it after admission: the
	// priority resolved from its PriorityClass. A pod whose spec.nodeName is set
	// exists, bound, when the run starts (Arrival is then 0).
	Pod *v1.Pod
	// Arrival is when the pod is created, from the start of the run.
	Arrival time.Duration
	// Duration is how long the pod runs once bound before it completes; 0 means it runs
	// until the end of the run.
	Duration time.Duration
	// Group is the name of the scenario group or trace the pod comes from.
	Group string
}

// Name is namespace/name of the pod.
func (p *Pod) Name() string { return p.Pod.Namespace + "/" + p.Pod.Name }

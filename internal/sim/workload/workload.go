// Package workload is what berth-sim replays: a cluster (nodes, PriorityClasses,
// namespaces, PodDisruptionBudgets) and the pods that arrive in it, each at a virtual
// time and for a duration. Workloads come from a scenario file or a cluster trace; a
// Workload is complete and valid once built, and every run of a comparison replays
// the same one.
package workload

import (
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation/field"
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

// Validate checks that w is complete and consistent, as the engine needs it: every
// object valid as the API server would have it (upstream validation), names unique,
// pods in arrival order, in existing namespaces, with the priority and preemption
// policy their PriorityClass gives and the QoS class their resources give, bound pods
// on existing nodes at time 0, no negative time. Builders call it last; a hand-made
// Workload should pass it before a run.
func (w *Workload) Validate() error {
	var errs field.ErrorList
	add := func(p *field.Path, name string, list field.ErrorList) {
		for _, e := range list {
			f := p.String() + " (" + name + ")"
			if e.Field != "" {
				f += ": " + e.Field
			}
			errs = append(errs, &field.Error{Type: e.Type, Field: f, BadValue: e.BadValue, Detail: e.Detail})
		}
	}

	nodes := eachObject(&errs, "nodes", w.Nodes, func(n *v1.Node) string { return n.Name },
		func(p *field.Path, n *v1.Node) { add(p, n.Name, checkNode(n)) })
	globalDefault := ""
	eachObject(&errs, "priorityClasses", w.PriorityClasses, func(pc *schedulingv1.PriorityClass) string { return pc.Name },
		func(p *field.Path, pc *schedulingv1.PriorityClass) {
			switch {
			case pc.GlobalDefault && globalDefault != "":
				errs = append(errs, field.Forbidden(p.Child("globalDefault"), fmt.Sprintf("%q is globalDefault already", globalDefault)))
			case pc.GlobalDefault:
				globalDefault = pc.Name
			}
			add(p, pc.Name, checkPriorityClass(pc))
		})
	namespaces := eachObject(&errs, "namespaces", w.Namespaces, func(ns *v1.Namespace) string { return ns.Name },
		func(p *field.Path, ns *v1.Namespace) { add(p, ns.Name, checkNamespace(ns)) })
	eachObject(&errs, "pdbs", w.PDBs, func(pdb *policyv1.PodDisruptionBudget) string { return pdb.Namespace + "/" + pdb.Name },
		func(p *field.Path, pdb *policyv1.PodDisruptionBudget) {
			if !namespaces[pdb.Namespace] {
				errs = append(errs, field.NotFound(p.Child("namespace"), pdb.Namespace))
				return
			}
			add(p, pdb.Namespace+"/"+pdb.Name, checkPDB(pdb))
		})

	api, err := newAPIServer(append(systemPriorityClasses(), w.PriorityClasses...))
	if err != nil {
		return err
	}
	pods := make(map[string]bool, len(w.Pods))
	var last time.Duration
	for i := range w.Pods {
		pod := &w.Pods[i]
		p := field.NewPath("pods").Index(i)
		if pod.Pod == nil {
			errs = append(errs, field.Required(p.Child("pod"), "a Pod"))
			continue
		}
		name := pod.Name()
		switch {
		case pods[name]:
			errs = append(errs, field.Duplicate(p.Child("pod", "metadata", "name"), name))
			continue
		case !namespaces[pod.Pod.Namespace]:
			errs = append(errs, field.NotFound(p.Child("pod", "metadata", "namespace"), pod.Pod.Namespace))
			continue
		case pod.Arrival < 0:
			errs = append(errs, field.Invalid(p.Child("arrival"), pod.Arrival, "must not be negative"))
		case pod.Arrival < last:
			errs = append(errs, field.Invalid(p.Child("arrival"), pod.Arrival, fmt.Sprintf("pods must be in arrival order; the pod before arrives at %v", last)))
		case pod.Duration < 0:
			errs = append(errs, field.Invalid(p.Child("duration"), pod.Duration, "must not be negative"))
		case pod.Pod.Spec.NodeName != "" && !nodes[pod.Pod.Spec.NodeName]:
			errs = append(errs, field.NotFound(p.Child("pod", "spec", "nodeName"), pod.Pod.Spec.NodeName))
		case pod.Pod.Spec.NodeName != "" && pod.Arrival != 0:
			errs = append(errs, field.Invalid(p.Child("arrival"), pod.Arrival, "a pod bound from the start (spec.nodeName) arrives at 0"))
		}
		pods[name] = true
		last = max(last, pod.Arrival)
		add(p, name, api.checkPod(pod.Pod))
	}
	return errs.ToAggregate()
}

// eachObject checks a list of objects: none nil, no name twice, and check on each of
// the others. It returns the names seen.
func eachObject[T any](errs *field.ErrorList, list string, objs []*T, name func(*T) string, check func(*field.Path, *T)) map[string]bool {
	seen := make(map[string]bool, len(objs))
	for i, obj := range objs {
		p := field.NewPath(list).Index(i)
		switch {
		case obj == nil:
			*errs = append(*errs, field.Required(p, "an object"))
		case seen[name(obj)]:
			*errs = append(*errs, field.Duplicate(p.Child("name"), name(obj)))
		default:
			seen[name(obj)] = true
			check(p, obj)
		}
	}
	return seen
}

// resourceQuantity is n of a counted resource (pods, GPUs).
func resourceQuantity(n int64) *resource.Quantity {
	return resource.NewQuantity(n, resource.DecimalSI)
}

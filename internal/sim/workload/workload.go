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

	nodes := make(map[string]bool, len(w.Nodes))
	for i, n := range w.Nodes {
		p := field.NewPath("nodes").Index(i)
		switch {
		case n == nil:
			errs = append(errs, field.Required(p, "a node"))
		case nodes[n.Name]:
			errs = append(errs, field.Duplicate(p.Child("name"), n.Name))
		default:
			nodes[n.Name] = true
			add(p, n.Name, checkNode(n))
		}
	}

	classes := make(map[string]bool, len(w.PriorityClasses))
	globalDefault := ""
	for i, pc := range w.PriorityClasses {
		p := field.NewPath("priorityClasses").Index(i)
		switch {
		case pc == nil:
			errs = append(errs, field.Required(p, "a PriorityClass"))
			continue
		case classes[pc.Name]:
			errs = append(errs, field.Duplicate(p.Child("name"), pc.Name))
			continue
		case pc.GlobalDefault && globalDefault != "":
			errs = append(errs, field.Forbidden(p.Child("globalDefault"), fmt.Sprintf("%q is globalDefault already", globalDefault)))
		case pc.GlobalDefault:
			globalDefault = pc.Name
		}
		classes[pc.Name] = true
		add(p, pc.Name, checkPriorityClass(pc))
	}

	namespaces := make(map[string]bool, len(w.Namespaces))
	for i, ns := range w.Namespaces {
		p := field.NewPath("namespaces").Index(i)
		switch {
		case ns == nil:
			errs = append(errs, field.Required(p, "a Namespace"))
		case namespaces[ns.Name]:
			errs = append(errs, field.Duplicate(p.Child("name"), ns.Name))
		default:
			namespaces[ns.Name] = true
			add(p, ns.Name, checkNamespace(ns))
		}
	}

	pdbs := make(map[string]bool, len(w.PDBs))
	for i, pdb := range w.PDBs {
		p := field.NewPath("pdbs").Index(i)
		switch {
		case pdb == nil:
			errs = append(errs, field.Required(p, "a PodDisruptionBudget"))
		case pdbs[pdb.Namespace+"/"+pdb.Name]:
			errs = append(errs, field.Duplicate(p.Child("name"), pdb.Namespace+"/"+pdb.Name))
		case !namespaces[pdb.Namespace]:
			errs = append(errs, field.NotFound(p.Child("namespace"), pdb.Namespace))
		default:
			pdbs[pdb.Namespace+"/"+pdb.Name] = true
			add(p, pdb.Namespace+"/"+pdb.Name, checkPDB(pdb))
		}
	}

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

// resourceQuantity is n of a counted resource (pods, GPUs).
func resourceQuantity(n int64) *resource.Quantity {
	return resource.NewQuantity(n, resource.DecimalSI)
}

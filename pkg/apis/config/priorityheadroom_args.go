package config

import (
	"fmt"
	"slices"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	v1helper "k8s.io/kubernetes/pkg/apis/core/v1/helper"
)

// PriorityHeadroomArgs are the arguments of the PriorityHeadroom plugin: which share of
// every node's allocatable resources pods below a priority must leave unrequested, so
// that pods at or above that priority find room without preempting anyone.
type PriorityHeadroomArgs struct {
	// Reservations are the rules. A pod is bound by every reservation whose
	// BelowPriority is above its priority; per resource the largest ReservePercent of
	// those wins. No reservations (the default) turns the plugin into a no-op: what to
	// keep back, and for which priorities, depends on each cluster's PriorityClasses, and
	// a default that withheld capacity would leave pods pending that the default
	// scheduler places.
	Reservations []HeadroomReservation `json:"reservations,omitempty"`
}

// HeadroomReservation keeps a share of each node's allocatable free of pods whose
// priority is below BelowPriority.
type HeadroomReservation struct {
	// BelowPriority is the exclusive upper bound: pods with priority < BelowPriority are
	// held back. Required (0 is a valid bound, so "unset" must be told apart from it);
	// unique across reservations.
	BelowPriority *int32 `json:"belowPriority"`
	// ReservePercent maps a resource name (cpu, memory, ephemeral-storage, pods,
	// hugepages-<size> or an extended resource) to the percent of each node's
	// allocatable, 0 to 100, that held-back pods may not request.
	ReservePercent map[v1.ResourceName]int32 `json:"reservePercent"`
}

var _ Args = &PriorityHeadroomArgs{}

// Default leaves the reservations as given: the no-op default is no reservations.
func (a *PriorityHeadroomArgs) Default() {}

// allowedResourceNames is what validation tells a user who wrote an unknown name.
const allowedResourceNames = "pods, cpu, memory, ephemeral-storage, hugepages-<size> (e.g. hugepages-2Mi) or an extended resource (<domain>/<name>, outside kubernetes.io)"

// Validate checks every reservation: BelowPriority set and unique, at least one
// resource, names the scheduler accounts per node, percents within 0..100.
func (a *PriorityHeadroomArgs) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := map[int32]bool{}
	resPath := path.Child("reservations")
	for i, r := range a.Reservations {
		p := resPath.Index(i)
		if r.BelowPriority == nil {
			errs = append(errs, field.Required(p.Child("belowPriority"), "the priority (any int32) below which pods are held back"))
		} else {
			if seen[*r.BelowPriority] {
				errs = append(errs, field.Duplicate(p.Child("belowPriority"), *r.BelowPriority))
			}
			seen[*r.BelowPriority] = true
		}
		pp := p.Child("reservePercent")
		if len(r.ReservePercent) == 0 {
			errs = append(errs, field.Required(pp, "at least one resource ("+allowedResourceNames+") with a percent between 0 and 100"))
			continue
		}
		names := make([]v1.ResourceName, 0, len(r.ReservePercent))
		for name := range r.ReservePercent {
			names = append(names, name)
		}
		slices.Sort(names) // deterministic error order
		for _, name := range names {
			kp := pp.Key(string(name))
			errs = append(errs, ValidateHeadroomResourceName(name, kp)...)
			if v := r.ReservePercent[name]; v < 0 || v > 100 {
				errs = append(errs, field.Invalid(kp, v, "must be between 0 and 100"))
			}
		}
	}
	return errs
}

// ValidateHeadroomResourceName accepts the resources a node can advertise in its
// allocatable, which is what a reservation holds back: pods, cpu, memory,
// ephemeral-storage, hugepages of a valid size, and extended resources, the
// domain-qualified names outside the kubernetes.io namespace that device plugins and
// operators add. upstream's helpers decide each (v1helper.HugePageSizeFromResourceName,
// v1helper.IsExtendedResourceName). A name a container could request but no node can
// offer (hugepages-foo, kubernetes.io/batteries) would reserve nothing, silently.
func ValidateHeadroomResourceName(name v1.ResourceName, path *field.Path) field.ErrorList {
	switch {
	case name == v1.ResourcePods || name == v1.ResourceCPU || name == v1.ResourceMemory || name == v1.ResourceEphemeralStorage:
		return nil
	case v1helper.IsHugePageResourceName(name):
		if size, err := v1helper.HugePageSizeFromResourceName(name); err != nil || size.Sign() <= 0 {
			return field.ErrorList{field.Invalid(path, string(name),
				fmt.Sprintf("hugepages must name a page size, e.g. hugepages-2Mi or hugepages-1Gi; allowed: %s", allowedResourceNames))}
		}
		return nil
	case v1helper.IsExtendedResourceName(name):
		return nil
	}
	return field.ErrorList{field.Invalid(path, string(name), "must be "+allowedResourceNames)}
}

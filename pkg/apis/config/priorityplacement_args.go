package config

import (
	"fmt"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Defaults of PriorityPlacementArgs.
const (
	// DefaultCriticalPriority is where the spread band starts: the value of the
	// conventional "critical workload" tier, well below the system classes (2e9) so
	// user-defined classes can reach it.
	DefaultCriticalPriority int32 = 1000000
	// DefaultPackBelowPriority is where the pack band ends: batch and best-effort tiers
	// conventionally sit below 1000, normal services at or above it.
	DefaultPackBelowPriority int32 = 1000
)

// PriorityPlacementArgs are the arguments of the PriorityPlacement score plugin. They
// split pods into three bands by priority: critical pods (>= CriticalPriority) are
// spread so one node (or domain) failure takes out as little critical work as
// possible, low pods (< PackBelowPriority) are packed onto the fullest nodes so whole
// nodes stay free for important work, and the band in between is left to the other
// score plugins.
type PriorityPlacementArgs struct {
	// CriticalPriority is the lowest priority that is spread. Default 1000000; any
	// int32 not below PackBelowPriority.
	CriticalPriority *int32 `json:"criticalPriority,omitempty"`
	// SpreadTopologyKey is the node label whose values are the failure domains critical
	// pods are spread over. "" (the default) spreads per node.
	SpreadTopologyKey string `json:"spreadTopologyKey,omitempty"`
	// PackBelowPriority is the exclusive upper bound of the pack band. Default 1000;
	// any int32 not above CriticalPriority (equal leaves no neutral band).
	PackBelowPriority *int32 `json:"packBelowPriority,omitempty"`
}

var _ Args = &PriorityPlacementArgs{}

// Default fills the priorities left unset. They are pointers because 0 and negative
// priorities are meaningful bounds that must be told apart from "unset".
func (a *PriorityPlacementArgs) Default() {
	if a.CriticalPriority == nil {
		v := DefaultCriticalPriority
		a.CriticalPriority = &v
	}
	if a.PackBelowPriority == nil {
		v := DefaultPackBelowPriority
		a.PackBelowPriority = &v
	}
}

// Validate checks that the bands do not overlap and that the topology key is a label
// key. It expects defaulted args; unset priorities are reported as required.
func (a *PriorityPlacementArgs) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if a.CriticalPriority == nil {
		errs = append(errs, field.Required(path.Child("criticalPriority"), "the lowest priority (any int32) whose pods are spread"))
	}
	if a.PackBelowPriority == nil {
		errs = append(errs, field.Required(path.Child("packBelowPriority"), "the priority (any int32) below which pods are packed"))
	}
	if a.CriticalPriority != nil && a.PackBelowPriority != nil && *a.PackBelowPriority > *a.CriticalPriority {
		errs = append(errs, field.Invalid(path.Child("packBelowPriority"), *a.PackBelowPriority,
			fmt.Sprintf("must be less than or equal to criticalPriority (%d), otherwise the pack and spread bands overlap", *a.CriticalPriority)))
	}
	if a.SpreadTopologyKey != "" {
		// Upstream's label-key validation (the one PodTopologySpread's topologyKey gets)
		// names what is wrong; say what else is allowed.
		for _, e := range metav1validation.ValidateLabelName(a.SpreadTopologyKey, path.Child("spreadTopologyKey")) {
			e.Detail = `must be "" (spread per node) or a valid label key: ` + e.Detail
			errs = append(errs, e)
		}
	}
	return errs
}

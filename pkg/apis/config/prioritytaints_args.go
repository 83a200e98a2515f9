package config

import (
	"strings"

	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// PriorityTaintsArgs are the arguments of the PriorityTaints plugin: node taints whose
// toleration only counts for pods at or above a priority, so that a reserved pool
// (e.g. nodes tainted berth.io/reserved=critical) cannot be entered by any pod that
// merely copied the toleration.
type PriorityTaintsArgs struct {
	// Rules are the reserved taints. No rules (the default) turns the plugin into a
	// no-op: which taints are reserved, and for which priorities, depends on each
	// cluster's pools and PriorityClasses.
	Rules []PriorityTaintRule `json:"rules,omitempty"`
}

// PriorityTaintRule reserves the node taints with Key (and Value, if set) for pods whose
// priority is at least MinPriority.
type PriorityTaintRule struct {
	// Key is the taint key, e.g. berth.io/reserved. Required; a valid label name
	// (an optional DNS-subdomain prefix and a name), as Kubernetes requires of taint keys.
	Key string `json:"key"`
	// Value, if set, restricts the rule to taints with exactly this value; empty
	// matches the key with any value. A valid label value.
	Value string `json:"value,omitempty"`
	// MinPriority is the lowest pod priority that may use the taint's toleration.
	// Required (any int32; 0 is a valid bound, so "unset" must be told apart from it).
	MinPriority *int32 `json:"minPriority"`
}

var _ Args = &PriorityTaintsArgs{}

// Default leaves the rules as given: the no-op default is no rules.
func (a *PriorityTaintsArgs) Default() {}

// Validate checks every rule: key set and a valid taint key, value a valid taint value,
// minPriority set, and no two rules for the same (key, value): two bounds for one taint
// are a configuration mistake, and silently picking one would hide it.
func (a *PriorityTaintsArgs) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	type keyValue struct{ key, value string }
	seen := map[keyValue]bool{}
	rulesPath := path.Child("rules")
	for i, r := range a.Rules {
		p := rulesPath.Index(i)
		if r.Key == "" {
			errs = append(errs, field.Required(p.Child("key"), "a taint key, e.g. berth.io/reserved"))
		} else {
			// Upstream validates taint keys exactly so (core validation of node taints).
			errs = append(errs, metav1validation.ValidateLabelName(r.Key, p.Child("key"))...)
		}
		if r.Value != "" {
			if msgs := validation.IsValidLabelValue(r.Value); len(msgs) > 0 {
				errs = append(errs, field.Invalid(p.Child("value"), r.Value, strings.Join(msgs, "; ")))
			}
		}
		if r.MinPriority == nil {
			errs = append(errs, field.Required(p.Child("minPriority"), "the lowest pod priority (any int32) that may tolerate the taint"))
		}
		kv := keyValue{r.Key, r.Value}
		if seen[kv] {
			errs = append(errs, field.Duplicate(p, r.Key+"="+r.Value))
		}
		seen[kv] = true
	}
	return errs
}

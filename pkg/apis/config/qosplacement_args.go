package config

import (
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// DefaultMaxMemoryLimitOvercommitPercent is the overcommit guard's bound when the
// argument is not set: a node's memory limits may add up to one and a half times its
// allocatable memory.
const DefaultMaxMemoryLimitOvercommitPercent int32 = 150

// Bounds of MaxMemoryLimitOvercommitPercent when the guard is on.
const (
	MinMemoryLimitOvercommitPercent int32 = 100
	MaxMemoryLimitOvercommitPercent int32 = 1000
)

// QoSPlacementArgs are the arguments of the QoSPlacement plugin.
type QoSPlacementArgs struct {
	// MaxMemoryLimitOvercommitPercent bounds the sum of memory limits on a node, in
	// percent of its allocatable memory, that a Burstable pod may bring the node to.
	// 0 turns the guard off; otherwise 100..1000. Below 100 would forbid limits that
	// merely add up to allocatable (no overcommit at all), which Guaranteed pods reach
	// anyway; above 1000 the guard no longer guards. Default 150.
	MaxMemoryLimitOvercommitPercent *int32 `json:"maxMemoryLimitOvercommitPercent,omitempty"`
}

var _ Args = &QoSPlacementArgs{}

// Default sets the percent to 150 when unset; an explicit 0 stays 0 (guard off).
func (a *QoSPlacementArgs) Default() {
	if a.MaxMemoryLimitOvercommitPercent == nil {
		v := DefaultMaxMemoryLimitOvercommitPercent
		a.MaxMemoryLimitOvercommitPercent = &v
	}
}

// Validate checks that the percent is 0 (off) or within 100..1000.
func (a *QoSPlacementArgs) Validate(path *field.Path) field.ErrorList {
	p := a.MaxMemoryLimitOvercommitPercent
	if p == nil || *p == 0 || (*p >= MinMemoryLimitOvercommitPercent && *p <= MaxMemoryLimitOvercommitPercent) {
		return nil
	}
	return field.ErrorList{field.Invalid(path.Child("maxMemoryLimitOvercommitPercent"), *p,
		"must be 0 (guard off) or between 100 and 1000")}
}

package config

import (
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/util/validation/field"
	kubeschedulerconfigv1 "k8s.io/kube-scheduler/config/v1"
	"k8s.io/kubernetes/pkg/apis/scheduling"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	schedconfigv1 "k8s.io/kubernetes/pkg/scheduler/apis/config/v1"
	schedvalidation "k8s.io/kubernetes/pkg/scheduler/apis/config/validation"
	"k8s.io/utils/ptr"
)

// Default QoS costs: each class costs twice the one below it, so one Guaranteed victim
// weighs as much as two Burstable or four BestEffort victims when nodes are compared.
const (
	DefaultQoSCostBestEffort int64 = 1
	DefaultQoSCostBurstable  int64 = 2
	DefaultQoSCostGuaranteed int64 = 4
)

// MaxGuaranteedPriorityGap bounds guaranteedPriorityGap: the priority of
// system-cluster-critical (scheduling.SystemCriticalPriority). Preemptors at or above it
// are never held back by the gap, so no larger gap protects anything more.
const MaxGuaranteedPriorityGap = int64(scheduling.SystemCriticalPriority)

// QoSAwarePreemptionArgs are the arguments of the QoSAwarePreemption PostFilter plugin,
// berth's replacement for upstream's DefaultPreemption. The two minCandidate fields mean
// exactly what they mean in upstream's DefaultPreemptionArgs and are defaulted and
// validated by upstream's own code.
type QoSAwarePreemptionArgs struct {
	// GuaranteedPriorityGap protects Guaranteed pods from preemptors only slightly above
	// them: a Guaranteed victim needs preemptor priority >= victim priority + gap.
	// 0 (the default) turns the rule off, leaving upstream's "strictly lower priority".
	GuaranteedPriorityGap int64 `json:"guaranteedPriorityGap,omitempty"`
	// QoSCost weighs one victim of each QoS class when the plugin compares candidate
	// nodes (after PDB violations and the highest victim priority, before the number of
	// victims). Unset classes get the defaults 1, 2, 4.
	QoSCost QoSCost `json:"qosCost,omitempty"`
	// MinCandidateNodesPercentage is upstream's DefaultPreemptionArgs field: the share of
	// nodes, 0 to 100, dry-run for preemption at least. Default 10.
	MinCandidateNodesPercentage *int32 `json:"minCandidateNodesPercentage,omitempty"`
	// MinCandidateNodesAbsolute is upstream's DefaultPreemptionArgs field: the number of
	// nodes dry-run for preemption at least. Default 100.
	MinCandidateNodesAbsolute *int32 `json:"minCandidateNodesAbsolute,omitempty"`
}

// QoSCost is the weight of one victim of each QoS class. Pointers tell "unset" (take the
// default) from an explicit value, which must be at least 1.
type QoSCost struct {
	BestEffort *int64 `json:"bestEffort,omitempty"`
	Burstable  *int64 `json:"burstable,omitempty"`
	Guaranteed *int64 `json:"guaranteed,omitempty"`
}

var _ Args = &QoSAwarePreemptionArgs{}

// Default fills unset costs with 1/2/4 and the minCandidate fields with upstream's
// defaults (10 %, 100), through upstream's own defaulting function.
func (a *QoSAwarePreemptionArgs) Default() {
	if a.QoSCost.BestEffort == nil {
		a.QoSCost.BestEffort = ptr.To(DefaultQoSCostBestEffort)
	}
	if a.QoSCost.Burstable == nil {
		a.QoSCost.Burstable = ptr.To(DefaultQoSCostBurstable)
	}
	if a.QoSCost.Guaranteed == nil {
		a.QoSCost.Guaranteed = ptr.To(DefaultQoSCostGuaranteed)
	}
	up := kubeschedulerconfigv1.DefaultPreemptionArgs{
		MinCandidateNodesPercentage: a.MinCandidateNodesPercentage,
		MinCandidateNodesAbsolute:   a.MinCandidateNodesAbsolute,
	}
	schedconfigv1.SetDefaults_DefaultPreemptionArgs(&up)
	a.MinCandidateNodesPercentage = up.MinCandidateNodesPercentage
	a.MinCandidateNodesAbsolute = up.MinCandidateNodesAbsolute
}

// Validate checks, on defaulted args:
//   - 0 <= guaranteedPriorityGap <= MaxGuaranteedPriorityGap;
//   - every qosCost >= 1: a victim always costs something, so the cost can never prefer
//     a node because it evicts more pods;
//   - bestEffort <= burstable <= guaranteed: the cost must agree with the order in which
//     victims are spared on a node (Guaranteed first), or the node choice would favour
//     evicting exactly the pods the per-node order protects;
//   - the minCandidate fields by upstream's ValidateDefaultPreemptionArgs.
func (a *QoSAwarePreemptionArgs) Validate(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case a.GuaranteedPriorityGap < 0:
		errs = append(errs, field.Invalid(path.Child("guaranteedPriorityGap"), a.GuaranteedPriorityGap,
			"must be >= 0 (0 turns the rule off)"))
	case a.GuaranteedPriorityGap > MaxGuaranteedPriorityGap:
		errs = append(errs, field.Invalid(path.Child("guaranteedPriorityGap"), a.GuaranteedPriorityGap,
			fmt.Sprintf("must be <= %d (system-cluster-critical: pods at or above it ignore the gap, so a larger one means nothing more)", MaxGuaranteedPriorityGap)))
	}
	costPath := path.Child("qosCost")
	costs := []struct {
		name string
		v    *int64
	}{{"bestEffort", a.QoSCost.BestEffort}, {"burstable", a.QoSCost.Burstable}, {"guaranteed", a.QoSCost.Guaranteed}}
	valid := true
	for _, c := range costs {
		switch {
		case c.v == nil:
			errs = append(errs, field.Required(costPath.Child(c.name), "an integer >= 1"))
			valid = false
		case *c.v < 1:
			errs = append(errs, field.Invalid(costPath.Child(c.name), *c.v, "must be >= 1"))
			valid = false
		}
	}
	if valid {
		for i := 1; i < len(costs); i++ {
			lo, hi := costs[i-1], costs[i]
			if *hi.v < *lo.v {
				errs = append(errs, field.Invalid(costPath.Child(hi.name), *hi.v,
					fmt.Sprintf("must be >= qosCost.%s (%d): costs must satisfy bestEffort <= burstable <= guaranteed", lo.name, *lo.v)))
			}
		}
	}
	errs = append(errs, a.validateMinCandidates(path)...)
	return errs
}

// validateMinCandidates runs upstream's validation of the two DefaultPreemptionArgs
// fields, which returns an aggregate of field errors, and hands its field errors on.
func (a *QoSAwarePreemptionArgs) validateMinCandidates(path *field.Path) field.ErrorList {
	var errs field.ErrorList
	pct, abs := a.MinCandidateNodesPercentage, a.MinCandidateNodesAbsolute
	if pct == nil {
		errs = append(errs, field.Required(path.Child("minCandidateNodesPercentage"), "an integer between 0 and 100"))
	}
	if abs == nil {
		errs = append(errs, field.Required(path.Child("minCandidateNodesAbsolute"), "an integer >= 0"))
	}
	if len(errs) > 0 {
		return errs
	}
	err := schedvalidation.ValidateDefaultPreemptionArgs(path, &schedconfig.DefaultPreemptionArgs{
		MinCandidateNodesPercentage: *pct,
		MinCandidateNodesAbsolute:   *abs,
	})
	if err == nil {
		return nil
	}
	var agg interface{ Errors() []error }
	if !errors.As(err, &agg) {
		return field.ErrorList{field.InternalError(path, err)}
	}
	for _, e := range agg.Errors() {
		var fe *field.Error
		if errors.As(e, &fe) {
			errs = append(errs, fe)
		} else {
			errs = append(errs, field.InternalError(path, e))
		}
	}
	return errs
}

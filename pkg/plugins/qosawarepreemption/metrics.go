package qosawarepreemption

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// Values of the result label of berth_preemption_attempts_total.
const (
	// ResultNominated: victims were chosen and their eviction started; the preemptor is
	// nominated to their node.
	ResultNominated = "nominated"
	// ResultNoCandidate: the preemptor may preempt, but evicting lower-priority pods
	// would not make it fit on any node, or scheduler extenders removed every
	// candidate node.
	ResultNoCandidate = "no_candidate"
	// ResultIneligible: the preemptor may not preempt now (preemptionPolicy: Never, or
	// its earlier victims are still terminating on its nominated node).
	ResultIneligible = "ineligible"
	// ResultError: an internal error (API call, lister) ended the attempt.
	ResultError = "error"
)

var (
	// victimsTotal counts the pods berth evicted (or preempted in scheduler memory) by
	// QoS class, so an operator sees whether Guaranteed pods are being spared.
	victimsTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "berth",
		Subsystem:      "preemption",
		Name:           "victims_total",
		Help:           "Pods preempted by berth's QoSAwarePreemption, by the victim's QoS class and PriorityClass (\"none\" without one).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"qos_class", "priority_class"})

	// attemptsTotal counts PostFilter runs of the plugin by outcome (see the Result*
	// constants).
	attemptsTotal = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "berth",
		Subsystem:      "preemption",
		Name:           "attempts_total",
		Help:           "Preemption attempts of berth's QoSAwarePreemption, by result: nominated, no_candidate, ineligible, error.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})

	registerOnce sync.Once
)

// registerMetrics adds the plugin's metrics to the legacy registry the scheduler serves
// on /metrics. Every profile builds its own plugin instance, hence the Once.
func registerMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(victimsTotal, attemptsTotal)
	})
}

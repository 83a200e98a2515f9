// Package rejections is berth_plugin_rejections_total, the counter of node evaluations
// each berth filter rejected, by the configured rule that did. Its labels come from the
// configuration (plugin names, rule descriptions), never from pods or nodes, so its
// cardinality is the number of rules.
package rejections

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

var (
	total = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace: "berth",
		Subsystem: "plugin",
		Name:      "rejections_total",
		Help: "Node evaluations a berth filter rejected, by plugin and by the configured rule that rejected " +
			"(a pod rejected on 50 nodes counts 50; preemption's dry runs count too).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"plugin", "rule"})
	registerOnce sync.Once
)

// For returns the counter of one rule, to bind when the plugin is built: Filter then
// only calls Inc, which does not allocate. It registers the metric with the scheduler's
// registry on first use (an unregistered vector hands out counters that count nothing).
func For(plugin, rule string) metrics.CounterMetric {
	registerOnce.Do(func() { legacyregistry.MustRegister(total) })
	return total.WithLabelValues(plugin, rule)
}

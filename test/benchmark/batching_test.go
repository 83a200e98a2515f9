//go:build benchmark

package benchmark

import (
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/pkg/scheduler/metrics"
)

// expectBatchingKey is a berth test-case field of config/performance-config.yaml (see
// profilePluginConfigKey): true makes every workload of the case fail unless, under
// both profiles, opportunistic batching placed at least one pod where the
// OpportunisticBatching feature gate is on, and none where it is off. It is how a
// plugin that stops signing pods breaks the build (make test runs the short workloads).
const expectBatchingKey = "expectBatching"

// batchAttemptsMetric counts GetNodeHint's outcomes per profile; hint_used is a pod
// placed on the node the previous pod's cached filter and score results offered
// (OpportunisticBatch.StoreScheduleResults). recordCounters reads it.
const batchAttemptsMetric = "scheduler_batch_attempts_total"

// batchedTitle is the summary row of the pods batching placed (readCounts).
const batchedTitle = "pods placed by opportunistic batching (whole workload)"

// checkBatching fails the run when the test case expects batching (expectBatchingKey)
// and the profile placed n pods through it where the feature gate says otherwise.
func checkBatching(tb interface{ Errorf(string, ...any) }, workload, prof string, expect bool, n float64) {
	if !expect {
		return
	}
	on := utilfeature.DefaultFeatureGate.Enabled(features.OpportunisticBatching)
	switch {
	case on && n == 0:
		tb.Errorf("%s expects opportunistic batching, but the %s profile placed no pod through it (%s{result=%q} is 0): a Filter or Score plugin no longer signs these pods, or their scores no longer let the batch reuse them", workload, prof, batchAttemptsMetric, metrics.BatchAttemptHintUsed)
	case !on && n != 0:
		tb.Errorf("%s runs with the OpportunisticBatching feature gate off, yet the %s profile placed %v pods through batching", workload, prof, n)
	}
}

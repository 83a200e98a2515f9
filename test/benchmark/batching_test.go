//go:build benchmark

package benchmark

import (
	"strings"
	"sync"

	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/pkg/scheduler/metrics"
	perf "k8s.io/kubernetes/test/integration/scheduler_perf"
	"k8s.io/kubernetes/test/utils/client-go/ktesting"
)

// expectBatchingKey is a berth test-case field of config/performance-config.yaml (see
// profilePluginConfigKey): true makes every workload of the case fail unless, under
// both profiles, opportunistic batching placed at least one pod where the
// OpportunisticBatching feature gate is on, and none where it is off. It is how a
// plugin that stops signing pods breaks the build (make test runs the short workloads).
const expectBatchingKey = "expectBatching"

// batchAttemptsMetric counts GetNodeHint's outcomes per profile; hint_used is a pod
// placed on the node the previous pod's cached filter and score results offered
// (OpportunisticBatch.StoreScheduleResults). scheduler_perf only collects histograms,
// so the benchmark reads this counter itself.
const batchAttemptsMetric = "scheduler_batch_attempts_total"

// batchedTitle is the summary row of batchedPods.
const batchedTitle = "pods placed by opportunistic batching (whole workload)"

var (
	batchedMu sync.Mutex
	// batchedPods[workload][profile] holds, per run, how many pods opportunistic
	// batching placed during the whole workload (its unmeasured pods included).
	batchedPods = map[string]map[string][]float64{}
)

// recordBatching is scheduler_perf's prepare hook: it runs once the workload's
// scheduler is up, and its cleanup once the workload is done but before scheduler_perf
// resets the metrics (cleanups run last-registered first).
func recordBatching(tc map[string]any) perf.SchedulerPerfOption {
	expect, _ := tc[expectBatchingKey].(bool)
	return perf.WithPrepareFn(func(tCtx ktesting.TContext) error {
		tb := tCtx.TB()
		tb.Cleanup(func() {
			// BenchmarkPerfScheduling/<test case>/<profile>/<workload, may hold "/">
			parts := nameParts(tb.Name())
			if len(parts) < 4 {
				tb.Errorf("unexpected benchmark name %q", tb.Name())
				return
			}
			workload, prof := parts[1]+"/"+strings.Join(parts[3:], "/"), parts[2]
			n, err := hintUsed()
			if err != nil {
				tb.Errorf("%s: %v", batchAttemptsMetric, err)
				return
			}
			batchedMu.Lock()
			if batchedPods[workload] == nil {
				batchedPods[workload] = map[string][]float64{}
			}
			batchedPods[workload][prof] = append(batchedPods[workload][prof], n)
			batchedMu.Unlock()
			tb.Logf("%s: %s: %v pods placed by opportunistic batching", workload, prof, n)

			if !expect || tb.Failed() {
				return
			}
			on := utilfeature.DefaultFeatureGate.Enabled(features.OpportunisticBatching)
			switch {
			case on && n == 0:
				tb.Errorf("%s expects opportunistic batching, but the %s profile placed no pod through it (%s{result=%q} is 0): a Filter or Score plugin no longer signs these pods, or their scores no longer let the batch reuse them", workload, prof, batchAttemptsMetric, metrics.BatchAttemptHintUsed)
			case !on && n != 0:
				tb.Errorf("%s runs with the OpportunisticBatching feature gate off, yet the %s profile placed %v pods through batching", workload, prof, n)
			}
		})
		return nil
	})
}

// hintUsed reads how many pods batching placed since scheduler_perf last reset the
// metrics (at the end of the previous workload). A counter never incremented is not
// gathered at all: that is 0.
func hintUsed() (float64, error) {
	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		return 0, err
	}
	var n float64
	for _, f := range families {
		if f.GetName() != batchAttemptsMetric {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["profile"] == "default-scheduler" && labels["result"] == metrics.BatchAttemptHintUsed {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n, nil
}

// batchedFigures returns batchedPods' runs for workload, per profile.
func batchedFigures(workload string) map[string][]float64 {
	batchedMu.Lock()
	defer batchedMu.Unlock()
	return batchedPods[workload]
}

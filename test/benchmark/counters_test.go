//go:build benchmark

package benchmark

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"
	v1 "k8s.io/api/core/v1"
	compbasemetrics "k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/names"
	"k8s.io/kubernetes/pkg/scheduler/metrics"
	perf "k8s.io/kubernetes/test/integration/scheduler_perf"
	"k8s.io/kubernetes/test/utils/client-go/ktesting"
)

// scheduler_perf only collects histograms, and only over the measured phase; the
// figures here come from the scheduler's counters, which the benchmark reads itself
// at the end of each workload, so they cover the whole workload (its unmeasured pods
// included). Every profile runs as v1.DefaultSchedulerName (writeProfileCase).

const (
	// evaluationMetric counts every call of a plugin at an extension point, per
	// profile: the framework's instrumented wrapper increments it before the plugin
	// runs, whatever the plugin returns.
	evaluationMetric = "scheduler_plugin_evaluation_total"
	// attemptsMetric counts scheduling attempts per result and profile.
	attemptsMetric = "scheduler_schedule_attempts_total"
	// visitProbe is the plugin whose Filter calls count node visits: the first filter
	// of both profiles and of every variant, with no PreFilter that could skip it, so
	// the framework calls it once for every NodeInfo it filters (twice for a node with
	// nominated pods, and for each node a preemption's dry run tries).
	visitProbe = names.NodeUnschedulable
)

// visitsTitle is the summary row of nodes visited per attempt. It is the figure that
// tells packing's cost from a slower plugin: a profile that leaves fewer nodes
// feasible makes each cycle filter more nodes to find the sample it scores.
const visitsTitle = "nodes filtered per scheduling attempt (whole workload)"

// unschedulableTitle is the summary row of attempts that ended unschedulable: with
// PostFilter's average, it tells a profile whose preemptions are slower from one that
// runs PostFilter more often (every unschedulable attempt runs it).
const unschedulableTitle = "unschedulable attempts (whole workload)"

// preemptionsTitle and evictedTitle are the summary rows of the preemptions that chose
// a node and the victims they evicted, from the Executor's victims histogram (one
// sample per preemption; the benchmark runs one profile at a time, so its lack of a
// profile label does not matter). Unschedulable attempts minus these preemptions are
// the PostFilter calls that returned without evicting: a preemptor still waiting for
// its victims to go, or a dry run that found no candidate. So they tell a profile whose
// preemptions are slower from one whose PostFilter average is over fewer quick returns.
const (
	preemptionsTitle = "preemptions that evicted pods (whole workload)"
	evictedTitle     = "pods evicted by preemption (whole workload)"
	victimsMetric    = "scheduler_preemption_victims"
)

// retriedTitle and retriedWaitTitle are the summary rows of the pods bound after more
// than one attempt and their average wait, from upstream's pod scheduling SLI
// histogram (first attempt to bound, labelled by attempts). In the preemption
// workloads those pods are the preemptors: a preemptor's first attempt always fails
// (that attempt preempts), while the pods that are measured for throughput around it
// fit at once. So the wait is the time an important pod spends on its eviction, the
// preemption speed a user sees, which throughput of the other pods does not show.
// The average is exact (sum over count), not read off the histogram's buckets.
//
// flushedTitle counts the pods bound only after the queue's periodic flush of
// unschedulable pods (five minutes): a preemptor that missed the event that should
// have woken it (kubernetes#141694) shows up here.
const (
	retriedTitle     = "pods bound after more than one attempt (whole workload)"
	retriedWaitTitle = "their wait, first attempt to bound, average (whole workload)"
	flushedTitle     = "pods bound only after the periodic flush (whole workload)"
	sliMetric        = "scheduler_pod_scheduling_sli_duration_seconds"
	flushMetric      = "scheduler_pod_scheduled_after_flush_total"
)

var (
	countedMu sync.Mutex
	// counted[workload][profile][row title] holds one value per run.
	counted = map[string]map[string]map[string][]float64{}
)

// recordCounters is scheduler_perf's prepare hook: it runs once the workload's
// scheduler is up, and its cleanup once the workload is done but before scheduler_perf
// resets the metrics (cleanups run last-registered first). It records the counter
// figures of the run and fails the run when a counter that must move did not.
//
// The figures are the change since the hook ran: scheduler_perf resets the metrics
// after each workload, but legacyregistry.Reset only resets vector metrics, and the
// preemption victims histogram is a plain one, so it carries the earlier workloads of
// the process (the first profile's, for the second).
func recordCounters(tc map[string]any) perf.SchedulerPerfOption {
	expect, _ := tc[expectBatchingKey].(bool)
	return perf.WithPrepareFn(func(tCtx ktesting.TContext) error {
		tb := tCtx.TB()
		base, err := readCounts(legacyregistry.DefaultGatherer)
		if err != nil {
			return err
		}
		tb.Cleanup(func() {
			// BenchmarkPerfScheduling/<test case>/<profile>/<workload, may hold "/">
			parts := nameParts(tb.Name())
			if len(parts) < 4 {
				tb.Errorf("unexpected benchmark name %q", tb.Name())
				return
			}
			workload, prof := parts[1]+"/"+strings.Join(parts[3:], "/"), parts[2]
			end, err := readCounts(legacyregistry.DefaultGatherer)
			if err != nil {
				tb.Error(err)
				return
			}
			figures, err := end.minus(base).figures()
			if err != nil {
				tb.Error(err)
				return
			}
			countedMu.Lock()
			if counted[workload] == nil {
				counted[workload] = map[string]map[string][]float64{}
			}
			if counted[workload][prof] == nil {
				counted[workload][prof] = map[string][]float64{}
			}
			for title, v := range figures {
				counted[workload][prof][title] = append(counted[workload][prof][title], v)
			}
			countedMu.Unlock()
			tb.Logf("%s: %s: %v pods placed by opportunistic batching, %.1f nodes filtered per scheduling attempt, %v preemptions evicting %v pods, %v pods bound after more than one attempt (%.0f ms on average), %v after the periodic flush",
				workload, prof, figures[batchedTitle], figures[visitsTitle], figures[preemptionsTitle], figures[evictedTitle], figures[retriedTitle], figures[retriedWaitTitle], figures[flushedTitle])
			if tb.Failed() {
				return
			}
			checkBatching(tb, workload, prof, expect, figures[batchedTitle])
		})
		return nil
	})
}

// counts are the raw counter values the summary rows are computed from, for
// v1.DefaultSchedulerName's profile where the metric has a profile label.
type counts struct {
	batched, attempts, unschedulable, visits, preemptions, evicted float64
	// retried pods and their summed wait in seconds; flushed pods.
	retried, retriedWait, flushed float64
}

// readCounts gathers the registry once and reads every counter from that one read.
func readCounts(g compbasemetrics.Gatherer) (counts, error) {
	families, err := g.Gather()
	if err != nil {
		return counts{}, fmt.Errorf("gathering the scheduler's counters: %w", err)
	}
	var c counts
	c.batched = counterSum(families, batchAttemptsMetric, map[string]string{"profile": v1.DefaultSchedulerName, "result": metrics.BatchAttemptHintUsed})
	c.attempts = counterSum(families, attemptsMetric, map[string]string{"profile": v1.DefaultSchedulerName})
	c.unschedulable = counterSum(families, attemptsMetric, map[string]string{"profile": v1.DefaultSchedulerName, "result": metrics.UnschedulableResult})
	c.visits = counterSum(families, evaluationMetric, map[string]string{"profile": v1.DefaultSchedulerName, "plugin": visitProbe, "extension_point": metrics.Filter})
	c.preemptions, c.evicted = histogramCountSum(families, victimsMetric, nil)
	c.retried, c.retriedWait = histogramCountSum(families, sliMetric, func(labels map[string]string) bool { return labels["attempts"] != "1" })
	c.flushed = counterSum(families, flushMetric, nil)
	return c, nil
}

// minus returns what was counted since base.
func (c counts) minus(base counts) counts {
	return counts{
		batched:       c.batched - base.batched,
		attempts:      c.attempts - base.attempts,
		unschedulable: c.unschedulable - base.unschedulable,
		visits:        c.visits - base.visits,
		preemptions:   c.preemptions - base.preemptions,
		evicted:       c.evicted - base.evicted,
		retried:       c.retried - base.retried,
		retriedWait:   c.retriedWait - base.retriedWait,
		flushed:       c.flushed - base.flushed,
	}
}

// figures returns the summary rows by title. It fails if the scheduler made attempts
// but the visit probe was never called: the figure would silently read 0 if upstream
// renamed the metric or its labels, or the probe left the profile.
func (c counts) figures() (map[string]float64, error) {
	figures := map[string]float64{
		batchedTitle:       c.batched,
		unschedulableTitle: c.unschedulable,
		preemptionsTitle:   c.preemptions,
		evictedTitle:       c.evicted,
		retriedTitle:       c.retried,
		flushedTitle:       c.flushed,
	}
	if c.retried > 0 {
		figures[retriedWaitTitle] = c.retriedWait / c.retried * 1000
	}
	if c.attempts > 0 {
		if c.visits == 0 {
			return nil, fmt.Errorf("%s: %v scheduling attempts, but %s{plugin=%q, extension_point=%q} is 0: the %q row cannot be computed", v1.DefaultSchedulerName, c.attempts, evaluationMetric, visitProbe, metrics.Filter, visitsTitle)
		}
		figures[visitsTitle] = c.visits / c.attempts
	}
	return figures, nil
}

// readFigures is readCounts then figures, for counters read from zero.
func readFigures(g compbasemetrics.Gatherer) (map[string]float64, error) {
	c, err := readCounts(g)
	if err != nil {
		return nil, err
	}
	return c.figures()
}

// counterSum adds up the counters of family name whose labels include match. A
// counter never incremented is not gathered at all: that is 0.
func counterSum(families []*dto.MetricFamily, name string, match map[string]string) float64 {
	var n float64
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelsMatch(labelMap(m), match) {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// histogramCountSum returns the sample count and sum of family name's histograms whose
// labels keep accepts (all of them when keep is nil).
func histogramCountSum(families []*dto.MetricFamily, name string, keep func(labels map[string]string) bool) (count, sum float64) {
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if keep != nil && !keep(labelMap(m)) {
				continue
			}
			count += float64(m.GetHistogram().GetSampleCount())
			sum += m.GetHistogram().GetSampleSum()
		}
	}
	return count, sum
}

func labelMap(m *dto.Metric) map[string]string {
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	return labels
}

// countedFigures returns counted's runs for workload: [profile][row title].
func countedFigures(workload string) map[string]map[string][]float64 {
	countedMu.Lock()
	defer countedMu.Unlock()
	return counted[workload]
}

// TestReadCountersDividesFilterVisitsByAttempts drives the scheduler's own metrics
// (the objects and helpers the framework increments, not copies of their names) and
// reads them back as the summary does: only the profile every benchmark profile runs
// as counts, and a run whose attempts left the visit probe at 0 is an error.
func TestReadCountersDividesFilterVisitsByAttempts(t *testing.T) {
	metrics.Register()
	legacyregistry.Reset()
	t.Cleanup(legacyregistry.Reset)

	const prof = v1.DefaultSchedulerName
	metrics.PodScheduled(prof, 0.01)
	metrics.PodScheduled(prof, 0.01)
	metrics.PodUnschedulable(prof, 0.01)
	metrics.PodScheduled("other-scheduler", 0.01)
	metrics.PluginEvaluationTotal.WithLabelValues(names.NodeUnschedulable, metrics.Filter, prof).Add(1260)
	metrics.PluginEvaluationTotal.WithLabelValues(names.NodeUnschedulable, metrics.Filter, "other-scheduler").Add(5000)
	metrics.PluginEvaluationTotal.WithLabelValues(names.NodeResourcesFit, metrics.Filter, prof).Add(900)
	metrics.PluginEvaluationTotal.WithLabelValues(names.NodeUnschedulable, metrics.Score, prof).Add(7)
	metrics.BatchAttemptStats.WithLabelValues(prof, metrics.BatchAttemptHintUsed).Add(2)
	metrics.BatchAttemptStats.WithLabelValues(prof, metrics.BatchAttemptNoHint).Add(1)
	metrics.PreemptionVictims.Observe(4)
	metrics.PreemptionVictims.Observe(1)
	metrics.WorkloadPreemptionVictims.Observe(9)                       // a pod group's preemption: another histogram
	metrics.PodSchedulingSLIDuration.WithLabelValues("1").Observe(0.5) // fitted at once: not counted
	metrics.PodSchedulingSLIDuration.WithLabelValues("2").Observe(1.0)
	metrics.PodSchedulingSLIDuration.WithLabelValues("15+").Observe(2.0)
	metrics.PodScheduledAfterFlush.Inc()

	got, err := readFigures(legacyregistry.DefaultGatherer)
	if err != nil {
		t.Fatal(err)
	}
	if got[visitsTitle] != 420 {
		t.Errorf("%s = %v, want 420 (1260 NodeUnschedulable Filter calls over 3 attempts)", visitsTitle, got[visitsTitle])
	}
	if got[batchedTitle] != 2 {
		t.Errorf("%s = %v, want 2", batchedTitle, got[batchedTitle])
	}
	if got[unschedulableTitle] != 1 {
		t.Errorf("%s = %v, want 1", unschedulableTitle, got[unschedulableTitle])
	}
	if got[preemptionsTitle] != 2 || got[evictedTitle] != 5 {
		t.Errorf("%s = %v, %s = %v, want 2 and 5", preemptionsTitle, got[preemptionsTitle], evictedTitle, got[evictedTitle])
	}
	if got[retriedTitle] != 2 || got[retriedWaitTitle] != 1500 {
		t.Errorf("%s = %v, %s = %v ms, want 2 pods and 1500 ms (1 s and 2 s; the pod bound at its first attempt left out)", retriedTitle, got[retriedTitle], retriedWaitTitle, got[retriedWaitTitle])
	}
	if got[flushedTitle] != 1 {
		t.Errorf("%s = %v, want 1", flushedTitle, got[flushedTitle])
	}

	legacyregistry.Reset()
	metrics.PodScheduled(prof, 0.01)
	metrics.PluginEvaluationTotal.WithLabelValues(names.NodeResourcesFit, metrics.Filter, prof).Inc()
	if _, err := readFigures(legacyregistry.DefaultGatherer); err == nil || !strings.Contains(err.Error(), "NodeUnschedulable") {
		t.Errorf("attempts without a single visit probe call: err = %v, want an error naming NodeUnschedulable", err)
	}

	legacyregistry.Reset()
	got, err = readFigures(legacyregistry.DefaultGatherer)
	if err != nil {
		t.Fatalf("no attempts at all: %v", err)
	}
	for _, title := range []string{visitsTitle, retriedWaitTitle} {
		if _, ok := got[title]; ok {
			t.Errorf("no attempts: %s = %v, want no figure", title, got[title])
		}
	}
}

// TestCountsAreTheWorkloadsOwnThoughAMetricSurvivesReset: scheduler_perf resets the
// metrics between workloads with legacyregistry.Reset, which leaves plain (non-vector)
// metrics such as the preemption victims histogram as they were; the figures of the
// second workload of a process must not include the first's.
func TestCountsAreTheWorkloadsOwnThoughAMetricSurvivesReset(t *testing.T) {
	metrics.Register()
	legacyregistry.Reset()
	t.Cleanup(legacyregistry.Reset)

	// The first workload: 3 preemptions and a pod bound after the flush, then
	// scheduler_perf's reset.
	for range 3 {
		metrics.PreemptionVictims.Observe(4)
	}
	metrics.PodScheduledAfterFlush.Inc()
	metrics.PodScheduled(v1.DefaultSchedulerName, 0.01)
	legacyregistry.Reset()

	// The second: its hook's baseline, then one preemption of 2 victims.
	base, err := readCounts(legacyregistry.DefaultGatherer)
	if err != nil {
		t.Fatal(err)
	}
	metrics.PreemptionVictims.Observe(2)
	metrics.PodSchedulingSLIDuration.WithLabelValues("2").Observe(0.25)
	metrics.PodUnschedulable(v1.DefaultSchedulerName, 0.01)
	metrics.PluginEvaluationTotal.WithLabelValues(names.NodeUnschedulable, metrics.Filter, v1.DefaultSchedulerName).Add(5)
	end, err := readCounts(legacyregistry.DefaultGatherer)
	if err != nil {
		t.Fatal(err)
	}
	got, err := end.minus(base).figures()
	if err != nil {
		t.Fatal(err)
	}
	if got[preemptionsTitle] != 1 || got[evictedTitle] != 2 {
		t.Errorf("%s = %v, %s = %v, want 1 and 2 (the second workload's alone)", preemptionsTitle, got[preemptionsTitle], evictedTitle, got[evictedTitle])
	}
	if got[flushedTitle] != 0 || got[retriedTitle] != 1 || got[retriedWaitTitle] != 250 {
		t.Errorf("%s = %v, %s = %v, %s = %v, want 0, 1 and 250 ms", flushedTitle, got[flushedTitle], retriedTitle, got[retriedTitle], retriedWaitTitle, got[retriedWaitTitle])
	}
	if got[unschedulableTitle] != 1 || got[visitsTitle] != 5 {
		t.Errorf("%s = %v, %s = %v, want 1 and 5", unschedulableTitle, got[unschedulableTitle], visitsTitle, got[visitsTitle])
	}
}

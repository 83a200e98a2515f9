//go:build benchmark

package benchmark

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	schedframework "k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/metrics"
	perf "k8s.io/kubernetes/test/integration/scheduler_perf"
	"sigs.k8s.io/yaml"

	"github.com/berth-sched/berth/pkg/plugins"
)

const configFile = "config/performance-config.yaml"

// rounds is how many times every workload runs under each profile. Not -count: go test
// repeats a leaf benchmark -count times in a row, so with -count 3 one profile ran all
// three of its runs, then the other all of its, always second, on a process holding
// the first one's heap and goroutines.
var rounds = flag.Int("rounds", 1, "runs of every workload under each profile; the profile that goes first alternates from one round to the next (use instead of -count)")

// BenchmarkPerfScheduling runs every test case of config/performance-config.yaml with
// upstream's default profile and with berth's recommended profile, -rounds times.
// Sub-benchmarks are named <test case>/<profile>/<workload> (go test appends #01, #02
// to the repeats). TestMain prints the comparison table once all runs are done.
func BenchmarkPerfScheduling(b *testing.B) {
	if *rounds < 1 {
		b.Fatalf("-rounds=%d: must be at least 1 (runs of every workload under each profile)", *rounds)
	}
	cases, err := loadTestCases()
	if err != nil {
		b.Fatal(err)
	}
	for i, tc := range cases {
		b.Run(tc["name"].(string), func(b *testing.B) {
			for round := range *rounds {
				// Alternate which profile goes first, from one test case to the
				// next and from one round to the next, so that neither always runs
				// on the warmer (or the more fragmented, or the more garbage-laden)
				// process.
				order := slices.Clone(profiles)
				if (i+round)%2 == 1 {
					slices.Reverse(order)
				}
				runProfiles(b, tc, order)
			}
		})
	}
}

// runProfiles runs test case tc once under each profile, in order.
func runProfiles(b *testing.B, tc map[string]any, order []profile) {
	for _, p := range order {
		path, err := writeProfileCase(tc, p)
		if err != nil {
			b.Fatal(err)
		}
		// The topic names the data items file and, with the test case name (the
		// profile's), the per-workload .dat files.
		topic := fmt.Sprintf("%s-%s", tc["name"], p.name)
		perf.RunBenchmarkPerfScheduling(b, path, topic, plugins.Registry(), recordCounters(tc))
	}
}

// nameParts splits a benchmark name into its elements without the "#01" go test
// appends to a repeated sub-benchmark's name, so repeats count as runs of one workload.
func nameParts(name string) []string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if j := strings.LastIndex(p, "#"); j > 0 && j < len(p)-1 && strings.Trim(p[j+1:], "0123456789") == "" {
			parts[i] = p[:j]
		}
	}
	return parts
}

// measuredPods maps "<test case>/<workload>" to the workload's measurePods parameter.
func measuredPods(cases []map[string]any) map[string]float64 {
	n := map[string]float64{}
	for _, tc := range cases {
		workloads, _ := tc["workloads"].([]any)
		for _, w := range workloads {
			w, _ := w.(map[string]any)
			params, _ := w["params"].(map[string]any)
			if v, ok := params["measurePods"].(float64); ok {
				n[fmt.Sprintf("%s/%s", tc["name"], w["name"])] = v
			}
		}
	}
	return n
}

// loadTestCases reads the test cases as plain data: writeProfileCase only renames them,
// sets their scheduler configuration and removes berth's own fields; scheduler_perf
// itself parses them.
func loadTestCases() ([]map[string]any, error) {
	raw, err := os.ReadFile(configFile)
	if err != nil {
		return nil, err
	}
	raw = []byte(strings.ReplaceAll(string(raw), "${SCHEDULER_PERF}", schedulerPerfDir))
	var cases []map[string]any
	if err := yaml.Unmarshal(raw, &cases); err != nil {
		return nil, fmt.Errorf("%s: %w", configFile, err)
	}
	for _, tc := range cases {
		if _, ok := tc["name"].(string); !ok {
			return nil, fmt.Errorf("%s: a test case has no name", configFile)
		}
		if _, ok := tc["schedulerConfigPath"]; ok {
			return nil, fmt.Errorf("%s: %s sets schedulerConfigPath; the profiles set it (%s changes both)", configFile, tc["name"], profilePluginConfigKey)
		}
		if _, err := profilePluginConfig(tc); err != nil {
			return nil, err
		}
		if v, ok := tc[expectBatchingKey]; ok {
			if _, isBool := v.(bool); !isBool {
				return nil, fmt.Errorf("%s: %s.%s is %v; allowed values: true, false", configFile, tc["name"], expectBatchingKey, v)
			}
		}
	}
	return cases, nil
}

// writeProfileCase writes tc as a one-case scheduler_perf configuration for profile p:
// named after the profile, with its scheduler configuration, without berth's own
// fields and with berth's plugins among those whose metrics are collected.
func writeProfileCase(tc map[string]any, p profile) (string, error) {
	c := make(map[string]any, len(tc)+2)
	for k, v := range tc {
		c[k] = v
	}
	delete(c, profilePluginConfigKey)
	delete(c, expectBatchingKey)
	configPath, err := p.configFor(tc)
	if err != nil {
		return "", err
	}
	c["name"] = p.name
	c["schedulerConfigPath"] = configPath
	if _, ok := c["metricsCollectorConfig"]; !ok {
		c["metricsCollectorConfig"] = metricsCollectorConfig()
	}
	out, err := yaml.Marshal([]any{c})
	if err != nil {
		return "", err
	}
	path := filepath.Join(workDir, fmt.Sprintf("%s-%s.yaml", tc["name"], p.name))
	return path, os.WriteFile(path, out, 0o600)
}

// metricsCollectorConfig is scheduler_perf's default metric set (defaultMetricsCollectorConfig
// in scheduler_perf.go) with berth's plugins added to the per-plugin metrics. Appending
// to perf.PluginNames would not do: the default set copies it at package init.
func metricsCollectorConfig() map[string]any {
	pluginNames := slices.Clone(perf.PluginNames)
	for name := range plugins.Registry() {
		pluginNames = append(pluginNames, name)
	}
	sort.Strings(pluginNames)
	lv := func(label string, values []string) map[string]any {
		return map[string]any{"label": label, "values": values}
	}
	events := schedframework.AllClusterEventLabels()
	results := []string{metrics.ScheduledResult, metrics.UnschedulableResult, metrics.ErrorResult}
	return map[string]any{"metrics": map[string]any{
		"scheduler_framework_extension_point_duration_seconds": []any{lv("extension_point", metrics.ExtensionPoints)},
		"scheduler_scheduling_attempt_duration_seconds":        []any{lv("result", results)},
		"scheduler_pod_scheduling_duration_seconds":            nil,
		// The end-to-end latency upstream's set still names by its pre-1.37 name above.
		"scheduler_pod_scheduling_sli_duration_seconds":      nil,
		"scheduler_plugin_execution_duration_seconds":        []any{lv("plugin", pluginNames), lv("extension_point", metrics.ExtensionPoints)},
		"scheduler_queueing_hint_execution_duration_seconds": []any{lv("plugin", pluginNames), lv("event", events)},
		"scheduler_event_handling_duration_seconds":          []any{lv("event", events)},
	}}
}

// summaryRow selects one figure of the data items.
type summaryRow struct {
	title  string
	metric string
	labels map[string]string
	bucket string
	unit   string
}

// summedRows show the sum over the runs instead of their median: events that matter
// when they happen once (a stall in one run of three has the median 0).
var summedRows = map[string]bool{flushedTitle: true}

const (
	wallTime            = "measured phase, wall time"
	effectiveThroughput = "measured pods / wall time"
)

var summaryRows = []summaryRow{
	{"throughput, average", "SchedulingThroughput", nil, "Average", "pods/s"},
	{"throughput, p50", "SchedulingThroughput", nil, "Perc50", "pods/s"},
	{"throughput, p90", "SchedulingThroughput", nil, "Perc90", "pods/s"},
	{effectiveThroughput, "", nil, "", "pods/s"},
	{wallTime, "SchedulingDuration", nil, "Duration", "s"},
	{"scheduling attempt (scheduled), p50", "scheduler_scheduling_attempt_duration_seconds", map[string]string{"result": "scheduled"}, "Perc50", "ms"},
	{"scheduling attempt (scheduled), p90", "scheduler_scheduling_attempt_duration_seconds", map[string]string{"result": "scheduled"}, "Perc90", "ms"},
	{"scheduling attempt (scheduled), p99", "scheduler_scheduling_attempt_duration_seconds", map[string]string{"result": "scheduled"}, "Perc99", "ms"},
	{"scheduling attempt (unschedulable), p50", "scheduler_scheduling_attempt_duration_seconds", map[string]string{"result": "unschedulable"}, "Perc50", "ms"},
	{"scheduling attempt (unschedulable), p99", "scheduler_scheduling_attempt_duration_seconds", map[string]string{"result": "unschedulable"}, "Perc99", "ms"},
	{"pod scheduling SLI (queued to scheduled), p50", "scheduler_pod_scheduling_sli_duration_seconds", nil, "Perc50", "ms"},
	{"pod scheduling SLI (queued to scheduled), p99", "scheduler_pod_scheduling_sli_duration_seconds", nil, "Perc99", "ms"},
	{"PreFilter, average", "scheduler_framework_extension_point_duration_seconds", map[string]string{"extension_point": "PreFilter"}, "Average", "ms"},
	{"Filter (all nodes of a cycle), average", "scheduler_framework_extension_point_duration_seconds", map[string]string{"extension_point": "Filter"}, "Average", "ms"},
	{"PreScore, average", "scheduler_framework_extension_point_duration_seconds", map[string]string{"extension_point": "PreScore"}, "Average", "ms"},
	{"Score (all nodes of a cycle), average", "scheduler_framework_extension_point_duration_seconds", map[string]string{"extension_point": "Score"}, "Average", "ms"},
	{"PostFilter (preemption), average", "scheduler_framework_extension_point_duration_seconds", map[string]string{"extension_point": "PostFilter"}, "Average", "ms"},
	{"heap in use, average", "heap_memory_usage", nil, "Average", "MB"},
	{batchedTitle, "", nil, "", "pods"},
	{visitsTitle, "", nil, "", "nodes"},
	{unschedulableTitle, "", nil, "", "attempts"},
	{preemptionsTitle, "", nil, "", "preemptions"},
	{evictedTitle, "", nil, "", "pods"},
	{retriedTitle, "", nil, "", "pods"},
	{retriedWaitTitle, "", nil, "", "ms"},
	{flushedTitle, "", nil, "", "pods"},
}

// summarize reads the data items written since since and prints, per workload, every
// profile's figures and its ratio to default's: the median over the runs (-rounds) when
// there are several. The table also goes to summary_<time>.md in the data items directory.
func summarize(since time.Time) error {
	cases, err := loadTestCases()
	if err != nil {
		return err
	}
	measured := measuredPods(cases)
	dir := flag.Lookup("data-items-dir").Value.String()
	files, err := filepath.Glob(filepath.Join(dir, "BenchmarkPerfScheduling_*_benchmark_*.json"))
	if err != nil {
		return err
	}
	// figures[workload][profile][row title] holds one value per run.
	figures := map[string]map[string]map[string][]float64{}
	add := func(workload, prof, title string, v float64) {
		if figures[workload] == nil {
			figures[workload] = map[string]map[string][]float64{}
		}
		if figures[workload][prof] == nil {
			figures[workload][prof] = map[string][]float64{}
		}
		figures[workload][prof][title] = append(figures[workload][prof][title], v)
	}
	for _, f := range files {
		if st, err := os.Stat(f); err != nil || st.ModTime().Before(since) {
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var items perf.DataItems
		if err := json.Unmarshal(raw, &items); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		for _, item := range items.DataItems {
			// Name is [BenchmarkPerfScheduling/]<test case>/<profile>/<workload>/<namespace>.
			parts := nameParts(item.Labels["Name"])
			if strings.HasPrefix(parts[0], "BenchmarkPerfScheduling") {
				parts = parts[1:]
			}
			if len(parts) < 4 {
				continue
			}
			workload, prof := parts[0]+"/"+strings.Join(parts[2:len(parts)-1], "/"), parts[1]
			for _, row := range summaryRows {
				if row.metric == "" || item.Labels["Metric"] != row.metric || !labelsMatch(item.Labels, row.labels) {
					continue
				}
				if v, ok := item.Data[row.bucket]; ok {
					add(workload, prof, row.title, v)
				}
				// What the per-second samples of SchedulingThroughput can hide
				// (bursts, stalls, a phase of a few seconds): all measured pods
				// over the whole measured phase.
				if row.title == wallTime && item.Data[row.bucket] > 0 && measured[workload] > 0 {
					add(workload, prof, effectiveThroughput, measured[workload]/item.Data[row.bucket])
				}
			}
		}
	}
	for w := range figures {
		for prof, rows := range countedFigures(w) {
			if figures[w][prof] == nil {
				figures[w][prof] = map[string][]float64{}
			}
			for title, runs := range rows {
				figures[w][prof][title] = runs
			}
		}
	}
	if len(figures) == 0 {
		return nil
	}
	// -variant profiles get two more columns each, after berth's.
	var variants []string
	for _, p := range profiles[min(2, len(profiles)):] {
		variants = append(variants, p.name)
	}
	out := summaryTable(figures, variants)
	fmt.Print(out)
	path := filepath.Join(dir, "summary_"+since.Format("2006-01-02T15-04-05")+".md")
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		return err
	}
	fmt.Printf("\nsummary: %s\n", path)
	return nil
}

// summaryTable renders figures[workload][profile][row title] (one value per run) as one
// table per workload: default's and berth's medians and berth/default, then each
// variant's median and its ratio to default's.
func summaryTable(figures map[string]map[string]map[string][]float64, variants []string) string {
	var sb strings.Builder
	workloads := make([]string, 0, len(figures))
	for w := range figures {
		workloads = append(workloads, w)
	}
	sort.Strings(workloads)
	for _, w := range workloads {
		def, berth := figures[w]["default"], figures[w]["berth"]
		runs := max(len(def[wallTime]), len(berth[wallTime]))
		fmt.Fprintf(&sb, "\n#### %s (%d run(s)", w, runs)
		if runs > 1 {
			sb.WriteString(", medians")
		}
		sb.WriteString(")\n\n| figure | default profile | berth profile | berth/default |")
		for _, v := range variants {
			fmt.Fprintf(&sb, " %s | %s/default |", v, v)
		}
		sb.WriteString("\n|---|---:|---:|---:|" + strings.Repeat("---:|---:|", len(variants)) + "\n")
		for _, row := range summaryRows {
			agg, unit := median, row.unit
			if summedRows[row.title] {
				agg, unit = total, row.unit+", all runs"
			}
			d, okD := agg(def[row.title])
			x, okB := agg(berth[row.title])
			if !okD && !okB {
				continue
			}
			fmt.Fprintf(&sb, "| %s (%s) | %s | %s | %s |", row.title, unit, num(d, okD), num(x, okB), ratio(x, okB, d, okD))
			for _, v := range variants {
				y, okV := agg(figures[w][v][row.title])
				fmt.Fprintf(&sb, " %s | %s |", num(y, okV), ratio(y, okV, d, okD))
			}
			sb.WriteString("\n")
		}
	}
	return sb.String()
}

func median(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

func total(v []float64) (float64, bool) {
	var t float64
	for _, x := range v {
		t += x
	}
	return t, len(v) > 0
}

func labelsMatch(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}

func num(v float64, ok bool) string {
	switch {
	case !ok:
		return "–"
	case v >= 100 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func ratio(berth float64, okB bool, def float64, okD bool) string {
	if !okB || !okD || def == 0 || math.IsNaN(berth/def) {
		return "–"
	}
	return fmt.Sprintf("%.2f", berth/def)
}

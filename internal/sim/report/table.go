package report

import (
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
)

// tableRow is one figure of the comparison table.
type tableRow struct {
	label string
	cell  func(Run, *Metrics) string
}

// WriteTable writes the comparison table: one column per run, one row per figure of
// results.json (one per value of a figure with several), then each priority tier's
// figures under a line naming the tier. Undefined figures
// show as "-".
func WriteTable(out io.Writer, runs []Run, metrics []Metrics) error {
	if err := checkRuns(runs, metrics); err != nil {
		return err
	}
	rows := []tableRow{
		{"config", func(r Run, _ *Metrics) string { return filepath.Base(r.Config) }},
	}
	for _, key := range sweepKeys(runs) {
		rows = append(rows, tableRow{"sweep " + key, func(r Run, _ *Metrics) string {
			if v, ok := r.Sweep[key]; ok {
				return v
			}
			return "-"
		}})
	}
	rows = append(rows, figureRows()...)

	header := []string{""}
	for _, r := range runs {
		header = append(header, r.Name)
	}
	table := [][]string{header}
	add := func(label string, cell func(int) string) {
		line := []string{label}
		for i := range runs {
			line = append(line, cell(i))
		}
		table = append(table, line)
	}
	for _, row := range rows {
		add(row.label, func(i int) string { return row.cell(runs[i], &metrics[i]) })
	}
	for _, tier := range tierUnion(metrics) {
		table = append(table, []string{fmt.Sprintf("tier %s (priority %d)", TierName(tier.Tier), tier.Priority)})
		for _, row := range tierRows() {
			add("  "+row.label, func(i int) string {
				t := findTier(&metrics[i], tier.Tier)
				if t == nil {
					return "-"
				}
				return row.cell(t)
			})
		}
	}
	return writeAligned(out, table, true)
}

// sweepKeys are the swept arguments of any run, sorted.
func sweepKeys(runs []Run) []string {
	seen := map[string]bool{}
	var keys []string
	for _, r := range runs {
		for k := range r.Sweep {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

func figureRows() []tableRow {
	n := func(get func(*Metrics) int) func(Run, *Metrics) string {
		return func(_ Run, m *Metrics) string { return strconv.Itoa(get(m)) }
	}
	alloc := func(get func(*Metrics) *Allocation, p90 bool) func(Run, *Metrics) string {
		return func(_ Run, m *Metrics) string {
			return orDash(get(m), func(a Allocation) string {
				if p90 {
					return percent(a.P90)
				}
				return percent(a.Mean)
			})
		}
	}
	// The pod counts, pending times and victims read as a tier's: the whole run is the
	// tier of every pod. The pre-existing pods are among the scheduled ones.
	var rows []tableRow
	for _, r := range tierRows() {
		rows = append(rows, tableRow{r.label, func(_ Run, m *Metrics) string {
			return r.cell(&TierMetrics{Pods: m.Pods, Scheduled: m.Scheduled, Pending: m.Pending, NeverScheduled: m.NeverScheduled, PendingTime: m.PendingTime, Victims: m.Victims})
		}})
		if r.label == "scheduled" {
			rows = append(rows, tableRow{"  pre-existing", n(func(m *Metrics) int { return m.PreExisting })})
		}
	}
	return append(rows, []tableRow{
		{"  BestEffort", n(func(m *Metrics) int { return m.VictimsByQoS.BestEffort })},
		{"  Burstable", n(func(m *Metrics) int { return m.VictimsByQoS.Burstable })},
		{"  Guaranteed", n(func(m *Metrics) int { return m.VictimsByQoS.Guaranteed })},
		{"preemptions", n(func(m *Metrics) int { return m.Preemptions })},
		{"victims' lost runtime", func(_ Run, m *Metrics) string { return seconds(m.VictimsLostRuntimeSeconds) }},
		{"cpu allocation mean", alloc(func(m *Metrics) *Allocation { return m.CPUAllocation }, false)},
		{"cpu allocation p90", alloc(func(m *Metrics) *Allocation { return m.CPUAllocation }, true)},
		{"memory allocation mean", alloc(func(m *Metrics) *Allocation { return m.MemoryAllocation }, false)},
		{"memory allocation p90", alloc(func(m *Metrics) *Allocation { return m.MemoryAllocation }, true)},
		{"empty nodes (mean)", func(_ Run, m *Metrics) string {
			return orDash(m.EmptyNodesMean, func(v float64) string { return decimal(v, 2) })
		}},
		{"fragmentation (pending)", n(func(m *Metrics) int { return m.Fragmentation })},
		{"critical pods", n(func(m *Metrics) int { return m.CriticalPods })},
		{"  most on one node", n(func(m *Metrics) int { return m.CriticalMaxPerNode })},
		{"  most in one zone", func(_ Run, m *Metrics) string { return orDash(m.CriticalMaxPerZone, strconv.Itoa) }},
		{"attempts", n(func(m *Metrics) int { return m.Attempts })},
		{"virtual time", func(_ Run, m *Metrics) string { return seconds(m.EndSeconds) }},
		{"  active time", func(_ Run, m *Metrics) string { return seconds(m.ActiveSeconds) }},
		{"wall time", func(_ Run, m *Metrics) string { return seconds(m.WallSeconds) }},
		{"pods/s", func(_ Run, m *Metrics) string { return decimal(m.PodsPerSecond, 1) }},
		{"placement hash", func(_ Run, m *Metrics) string { return shortHash(m.PlacementHash) }},
	}...)
}

// tierRow is one figure of a tier.
type tierRow struct {
	label string
	cell  func(*TierMetrics) string
}

func tierRows() []tierRow {
	n := func(get func(*TierMetrics) int) func(*TierMetrics) string {
		return func(t *TierMetrics) string { return strconv.Itoa(get(t)) }
	}
	pending := func(get func(*TimeSummary) float64) func(*TierMetrics) string {
		return func(t *TierMetrics) string {
			return orDash(t.PendingTime, func(s TimeSummary) string { return seconds(get(&s)) })
		}
	}
	return []tierRow{
		{"pods", n(func(t *TierMetrics) int { return t.Pods })},
		{"scheduled", n(func(t *TierMetrics) int { return t.Scheduled })},
		{"pending at end", n(func(t *TierMetrics) int { return t.Pending })},
		{"never scheduled", n(func(t *TierMetrics) int { return t.NeverScheduled })},
		{"pending time mean", pending(func(s *TimeSummary) float64 { return s.MeanSeconds })},
		{"pending time p50", pending(func(s *TimeSummary) float64 { return s.P50Seconds })},
		{"pending time p99", pending(func(s *TimeSummary) float64 { return s.P99Seconds })},
		{"victims", n(func(t *TierMetrics) int { return t.Victims })},
	}
}

// shortHash is enough of a placement hash to tell runs apart at a glance.
func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// tierUnion lists the tiers of all runs, in the first run's order (runs of one
// workload have the same tiers), then tiers only later runs have.
func tierUnion(metrics []Metrics) []TierMetrics {
	var out []TierMetrics
	seen := map[string]bool{}
	for i := range metrics {
		for _, t := range metrics[i].Tiers {
			if !seen[t.Tier] {
				seen[t.Tier] = true
				out = append(out, TierMetrics{Tier: t.Tier, Priority: t.Priority})
			}
		}
	}
	return out
}

func findTier(m *Metrics, tier string) *TierMetrics {
	for i := range m.Tiers {
		if m.Tiers[i].Tier == tier {
			return &m.Tiers[i]
		}
	}
	return nil
}

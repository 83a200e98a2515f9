package report

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// docSection is the text of docs/simulator.md under heading (e.g. "###
// results.json"), up to the next heading of the same or a higher level.
func docSection(t *testing.T, heading string) string {
	t.Helper()
	doc, err := os.ReadFile("../../../docs/simulator.md")
	if err != nil {
		t.Fatal(err)
	}
	level := strings.IndexByte(heading, ' ')
	var out []string
	in := false
	for _, line := range strings.Split(string(doc), "\n") {
		if hashes := len(line) - len(strings.TrimLeft(line, "#")); hashes > 0 && strings.HasPrefix(line[hashes:], " ") {
			if in && hashes <= level {
				break
			}
			in = in || line == heading
			continue
		}
		if in {
			out = append(out, line)
		}
	}
	if !in {
		t.Fatalf("docs/simulator.md has no %q section", heading)
	}
	return strings.Join(out, "\n")
}

var (
	fenced     = regexp.MustCompile("(?s)```.*?```")
	backticked = regexp.MustCompile("`([^`\n]+)`")
)

// documented are the code spans of a section, outside fenced blocks.
func documented(section string) map[string]bool {
	out := map[string]bool{}
	for _, m := range backticked.FindAllStringSubmatch(fenced.ReplaceAllString(section, ""), -1) {
		out[m[1]] = true
	}
	return out
}

func TestDocsDescribeEveryKeyOfEveryFile(t *testing.T) {
	var line bytes.Buffer
	w, runs := comparison()
	if err := WritePlacements(&line, w, runs[:1]); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(line.String(), "\n")
	for _, c := range []struct {
		section string
		keys    []string
	}{
		{"#### results.json", resultsKeys},
		{"#### placements.jsonl", keyPaths(t, []byte(first))},
		{"#### manifest.json", manifestKeys},
		{"### berth-sim diff", diffKeys},
	} {
		t.Run(c.section, func(t *testing.T) {
			doc := documented(docSection(t, c.section))
			for _, k := range c.keys {
				if !doc[k] {
					t.Errorf("key %s is not documented under %q", k, c.section)
				}
			}
		})
	}
}

func TestDocsDefineEveryFigure(t *testing.T) {
	// The first cell of each row of the Figures table names the figures it defines.
	defined := map[string]bool{}
	for _, line := range strings.Split(docSection(t, "### Figures"), "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 {
			for k := range documented(cells[1]) {
				defined[k] = true
			}
		}
	}
	for _, k := range resultsKeys {
		figure, ok := strings.CutPrefix(k, "runs[].")
		if !ok || strings.ContainsAny(figure, ".[") || figure == "name" || figure == "config" || figure == "sweep" || figure == "seed" {
			continue
		}
		if !defined[figure] {
			t.Errorf("figure %s has no row under ## Figures", figure)
		}
	}
}

func TestDocsListNoResultsKeyThatDoesNotExist(t *testing.T) {
	known := map[string]bool{}
	for _, k := range resultsKeys {
		known[k] = true
	}
	for k := range documented(docSection(t, "#### results.json")) {
		if (strings.HasPrefix(k, "runs[]") || k == "schemaVersion") && !known[k] {
			t.Errorf("docs list %s, which results.json does not have", k)
		}
	}
}

// figureLabels are the rows of the terminal table that show each figure of results.json;
// a figure added to results.json needs a row in WriteTable and an entry here.
var figureLabels = map[string]string{
	"runs[].pods":                            "pods",
	"runs[].preExisting":                     "pre-existing",
	"runs[].scheduled":                       "scheduled",
	"runs[].pending":                         "pending at end",
	"runs[].neverScheduled":                  "never scheduled",
	"runs[].pendingTime.meanSeconds":         "pending time mean",
	"runs[].pendingTime.p50Seconds":          "pending time p50",
	"runs[].pendingTime.p99Seconds":          "pending time p99",
	"runs[].preemptions":                     "preemptions",
	"runs[].victims":                         "victims",
	"runs[].victimsByQoS.BestEffort":         "BestEffort",
	"runs[].victimsByQoS.Burstable":          "Burstable",
	"runs[].victimsByQoS.Guaranteed":         "Guaranteed",
	"runs[].victimsLostRuntimeSeconds":       "victims' lost runtime",
	"runs[].cpuAllocation.mean":              "cpu allocation mean",
	"runs[].cpuAllocation.p90":               "cpu allocation p90",
	"runs[].memoryAllocation.mean":           "memory allocation mean",
	"runs[].memoryAllocation.p90":            "memory allocation p90",
	"runs[].emptyNodesMean":                  "empty nodes (mean)",
	"runs[].fragmentation":                   "fragmentation (pending)",
	"runs[].criticalPods":                    "critical pods",
	"runs[].criticalMaxPerNode":              "most on one node",
	"runs[].criticalMaxPerZone":              "most in one zone",
	"runs[].attempts":                        "attempts",
	"runs[].endSeconds":                      "virtual time",
	"runs[].activeSeconds":                   "active time",
	"runs[].wallSeconds":                     "wall time",
	"runs[].podsPerSecond":                   "pods/s",
	"runs[].placementHash":                   "placement hash",
	"runs[].tiers[].pods":                    "pods",
	"runs[].tiers[].scheduled":               "scheduled",
	"runs[].tiers[].pending":                 "pending at end",
	"runs[].tiers[].neverScheduled":          "never scheduled",
	"runs[].tiers[].pendingTime.meanSeconds": "pending time mean",
	"runs[].tiers[].pendingTime.p50Seconds":  "pending time p50",
	"runs[].tiers[].pendingTime.p99Seconds":  "pending time p99",
	"runs[].tiers[].victims":                 "victims",
}

// TestTheTableHasTheRowPerFigureTheDocsPromise: docs/simulator.md says the table has one
// row per figure of results.json, so every figure (every leaf key of a run and of a
// tier) has a row, in the run's part or in every tier's.
func TestTheTableHasTheRowPerFigureTheDocsPromise(t *testing.T) {
	if doc := strings.Join(strings.Fields(docSection(t, "### The terminal table")), " "); !strings.Contains(doc, "one row per figure of results.json") {
		t.Errorf("the terminal table's section no longer says it has one row per figure of results.json:\n%s", doc)
	}
	table := comparisonTable(t)
	// The labels of the run's rows, and of the rows of every tier.
	runLabels, tierLabels := map[string]bool{}, map[string]int{}
	tiers := 0
	for _, line := range strings.Split(table, "\n") {
		label, _, _ := strings.Cut(strings.TrimSpace(line), "  ")
		switch {
		case strings.HasPrefix(line, "tier "):
			tiers++
		case tiers == 0:
			runLabels[label] = true
		default:
			tierLabels[label]++
		}
	}
	isLeaf := func(k string) bool {
		for _, other := range resultsKeys {
			if strings.HasPrefix(other, k+".") || strings.HasPrefix(other, k+"[].") {
				return false
			}
		}
		return true
	}
	for _, k := range resultsKeys {
		switch k {
		case "runs[].name", "runs[].config", "runs[].sweep": // the header, config and sweep rows
			continue
		case "runs[].seed": // one --seed for all runs, in manifest.json
			continue
		case "runs[].tiers[].tier", "runs[].tiers[].priority": // the line naming the tier
			continue
		}
		if !strings.HasPrefix(k, "runs[].") || !isLeaf(k) {
			continue
		}
		label, ok := figureLabels[k]
		switch {
		case !ok:
			t.Errorf("figure %s has no row in the table (add one to WriteTable and to figureLabels)", k)
		case strings.HasPrefix(k, "runs[].tiers[]."):
			if tierLabels[label] != tiers {
				t.Errorf("figure %s: %d of %d tiers have a %q row:\n%s", k, tierLabels[label], tiers, label, table)
			}
		case !runLabels[label]:
			t.Errorf("figure %s: the table has no %q row:\n%s", k, label, table)
		}
	}
}

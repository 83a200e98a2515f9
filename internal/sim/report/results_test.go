package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// keyPaths lists every key of a JSON document as a path ("runs[].victimsByQoS.
// Guaranteed"), sorted; the objects at the paths in maps (free-form keys) are not
// descended into.
func keyPaths(t *testing.T, doc []byte, maps ...string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for _, m := range maps {
				if m == path {
					return
				}
			}
			for k, x := range v {
				p := k
				if path != "" {
					p = path + "." + k
				}
				seen[p] = true
				walk(p, x)
			}
		case []any:
			for _, x := range v {
				walk(path+"[]", x)
			}
		}
	}
	walk("", v)
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// resultsKeys are results.json's keys: a public interface. This list changes only by
// additions; a renamed or removed key fails here.
var resultsKeys = []string{
	"schemaVersion", "runs",
	"runs[].name", "runs[].config", "runs[].sweep", "runs[].seed",
	"runs[].pods", "runs[].preExisting", "runs[].scheduled", "runs[].pending", "runs[].neverScheduled",
	"runs[].pendingTime", "runs[].pendingTime.meanSeconds", "runs[].pendingTime.p50Seconds", "runs[].pendingTime.p99Seconds",
	"runs[].preemptions", "runs[].victims",
	"runs[].victimsByQoS", "runs[].victimsByQoS.BestEffort", "runs[].victimsByQoS.Burstable", "runs[].victimsByQoS.Guaranteed",
	"runs[].victimsLostRuntimeSeconds",
	"runs[].cpuAllocation", "runs[].cpuAllocation.mean", "runs[].cpuAllocation.p90",
	"runs[].memoryAllocation", "runs[].memoryAllocation.mean", "runs[].memoryAllocation.p90",
	"runs[].emptyNodesMean", "runs[].fragmentation",
	"runs[].criticalPods", "runs[].criticalMaxPerNode", "runs[].criticalMaxPerZone",
	"runs[].attempts", "runs[].endSeconds", "runs[].activeSeconds", "runs[].wallSeconds", "runs[].podsPerSecond",
	"runs[].placementHash",
	"runs[].tiers", "runs[].tiers[].tier", "runs[].tiers[].priority", "runs[].tiers[].pods", "runs[].tiers[].scheduled",
	"runs[].tiers[].pending", "runs[].tiers[].neverScheduled",
	"runs[].tiers[].pendingTime", "runs[].tiers[].pendingTime.meanSeconds", "runs[].tiers[].pendingTime.p50Seconds",
	"runs[].tiers[].pendingTime.p99Seconds", "runs[].tiers[].victims",
}

func comparisonResults(t *testing.T) Results {
	t.Helper()
	w, runs := comparison()
	metrics, err := MeasureAll(w, runs, MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := NewResults(runs, metrics)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestResultsJSONHasExactlyThePromisedKeys(t *testing.T) {
	var b bytes.Buffer
	if err := comparisonResults(t).WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	want := append([]string{}, resultsKeys...)
	sort.Strings(want)
	if d := cmp.Diff(want, keyPaths(t, b.Bytes(), "runs[].sweep")); d != "" {
		t.Errorf("results.json keys (-want +got):\n%s", d)
	}
}

func TestResultsJSONWritesUndefinedFiguresAsNull(t *testing.T) {
	res, err := NewResults([]Run{{Name: "empty"}}, []Metrics{{}})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := res.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"sweep": {}`, `"pendingTime": null`, `"cpuAllocation": null`, `"emptyNodesMean": null`, `"criticalMaxPerZone": null`, `"tiers": []`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("results.json lacks %s:\n%s", want, b.String())
		}
	}
}

const wantCSVHeader = "name,config,sweep,seed,pods,preExisting,scheduled,pending,neverScheduled," +
	"pendingTime.meanSeconds,pendingTime.p50Seconds,pendingTime.p99Seconds,preemptions,victims," +
	"victimsByQoS.BestEffort,victimsByQoS.Burstable,victimsByQoS.Guaranteed,victimsLostRuntimeSeconds," +
	"cpuAllocation.mean,cpuAllocation.p90,memoryAllocation.mean,memoryAllocation.p90,emptyNodesMean,fragmentation," +
	"criticalPods,criticalMaxPerNode,criticalMaxPerZone,attempts,endSeconds,activeSeconds,wallSeconds,podsPerSecond,placementHash," +
	"tiers.critical.priority,tiers.critical.pods,tiers.critical.scheduled,tiers.critical.pending,tiers.critical.neverScheduled," +
	"tiers.critical.pendingTime.meanSeconds,tiers.critical.pendingTime.p50Seconds,tiers.critical.pendingTime.p99Seconds,tiers.critical.victims," +
	"tiers.batch.priority,tiers.batch.pods,tiers.batch.scheduled,tiers.batch.pending,tiers.batch.neverScheduled," +
	"tiers.batch.pendingTime.meanSeconds,tiers.batch.pendingTime.p50Seconds,tiers.batch.pendingTime.p99Seconds,tiers.batch.victims"

func TestResultsCSVHasOneRowPerRunWithTheJSONFigures(t *testing.T) {
	res := comparisonResults(t)
	var b bytes.Buffer
	if err := res.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != wantCSVHeader {
		t.Errorf("header:\n%s\nwant:\n%s", got, wantCSVHeader)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want a header and 2 runs", len(rows))
	}
	// Each cell is the results.json value at the column's key.
	var doc struct {
		Runs []map[string]any `json:"runs"`
	}
	var j bytes.Buffer
	if err := res.WriteJSON(&j); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&j)
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	for r, run := range doc.Runs {
		for c, key := range rows[0] {
			want := jsonCell(run, key)
			if got := rows[r+1][c]; got != want {
				t.Errorf("run %d, %s: csv %q, json %q", r, key, got, want)
			}
		}
	}
	if got := rows[1][2]; got != "PriorityPlacement.weight=2" {
		t.Errorf("berth's sweep cell = %q", got)
	}
}

// jsonCell is the value at a CSV key in a run of results.json, as the CSV shows it.
func jsonCell(run map[string]any, key string) string {
	parts := strings.Split(key, ".")
	var v any = run
	if parts[0] == "tiers" {
		for _, tier := range run["tiers"].([]any) {
			if TierName(tier.(map[string]any)["tier"].(string)) == parts[1] {
				v = tier
			}
		}
		parts = parts[2:]
	}
	if key == "sweep" {
		return sweepString(toStrings(run["sweep"].(map[string]any)))
	}
	for _, p := range parts {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	switch v := v.(type) {
	case nil:
		return ""
	case json.Number:
		return v.String()
	case string:
		return v
	}
	return "?"
}

func toStrings(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		out[k] = v.(string)
	}
	return out
}

package report

import (
	"strings"
	"testing"
)

// The comparison fixture's figures, worked out by hand (fixtures_test.go): e.g. berth's
// cpu: n1 half full 60s then 3/4 full 60s, n2 empty 1s, half full 5s, full 114s:
// (30 + 45 + 2.5 + 114) / 240 = 79.8%; default's b3 (3 cpu) waits with 2 cpu free on
// each node: fragmentation 1.
const wantTable = `                                                  berth       default
config                            scheduler-config.yaml       default
sweep PriorityPlacement.weight                        2             -
pods                                                  5             5
scheduled                                             5             4
  pre-existing                                        0             0
pending at end                                        0             1
never scheduled                                       0             1
pending time mean                                 11.8s         250ms
pending time p50                                     0s            0s
pending time p99                                    58s            1s
victims                                               1             1
  BestEffort                                          1             0
  Burstable                                           0             0
  Guaranteed                                          0             1
preemptions                                           1             1
victims' lost runtime                                6s            6s
cpu allocation mean                               79.8%         49.8%
cpu allocation p90                               100.0%         50.0%
memory allocation mean                            39.9%         25.5%
memory allocation p90                             50.0%         25.0%
empty nodes (mean)                                 0.00          0.01
fragmentation (pending)                               0             1
critical pods                                         2             2
  most on one node                                    2             1
  most in one zone                                    2             1
attempts                                              6             6
virtual time                                       2m0s          2m0s
  active time                                      2m0s          2m0s
wall time                                          1.5s            1s
pods/s                                              3.3           5.0
placement hash                             b0ba07099169  9fa9194a20eb
tier critical (priority 1000000)
  pods                                                2             2
  scheduled                                           2             2
  pending at end                                      0             0
  never scheduled                                     0             0
  pending time mean                               500ms         500ms
  pending time p50                                   0s            0s
  pending time p99                                   1s            1s
  victims                                             0             0
tier batch (priority 100)
  pods                                                3             3
  scheduled                                           3             2
  pending at end                                      0             1
  never scheduled                                     0             1
  pending time mean                             19.333s            0s
  pending time p50                                   0s            0s
  pending time p99                                  58s            0s
  victims                                             1             1
`

// comparisonTable is the table of comparison()'s runs.
func comparisonTable(t *testing.T) string {
	t.Helper()
	w, runs := comparison()
	metrics, err := MeasureAll(w, runs, MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := WriteTable(&b, runs, metrics); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteTablePrintsOneColumnPerRunAndOneRowPerFigure(t *testing.T) {
	if got := comparisonTable(t); got != wantTable {
		t.Errorf("table:\n%s\nwant:\n%s", got, wantTable)
	}
}

func TestWriteTableShowsUndefinedFiguresAsDashes(t *testing.T) {
	runs := []Run{{Name: "empty", Config: "default"}}
	metrics := []Metrics{{Tiers: []TierMetrics{{Tier: "", Priority: 0}}}}
	var b strings.Builder
	if err := WriteTable(&b, runs, metrics); err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"pending time p99", "cpu allocation mean", "empty nodes (mean)", "most in one zone"} {
		if !lineEndsWith(b.String(), label, "-") {
			t.Errorf("row %q does not show -:\n%s", label, b.String())
		}
	}
	if !strings.Contains(b.String(), "tier (none) (priority 0)\n") {
		t.Errorf("the tier of pods without a class is not shown as (none):\n%s", b.String())
	}
}

func lineEndsWith(text, label, suffix string) bool {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), label) {
			return strings.HasSuffix(line, " "+suffix)
		}
	}
	return false
}

func TestWriteTableRejectsRunsItCannotTellApart(t *testing.T) {
	for _, c := range []struct {
		name    string
		runs    []Run
		metrics []Metrics
		want    string
	}{
		{"no runs", nil, nil, "no runs to report"},
		{"metrics missing", []Run{{Name: "a"}}, nil, "1 runs but 0 metrics"},
		{"unnamed run", []Run{{}}, []Metrics{{}}, "run 0 has no name"},
		{"same name twice", []Run{{Name: "a"}, {Name: "a"}}, []Metrics{{}, {}}, `two runs are named "a"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := WriteTable(&strings.Builder{}, c.runs, c.metrics)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v, want one containing %q", err, c.want)
			}
		})
	}
}

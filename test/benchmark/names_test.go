//go:build benchmark

package benchmark

import (
	"slices"
	"testing"
)

// TestNamePartsCountRepeatsAsOneWorkload: with -rounds, go test names a repeated
// sub-benchmark "berth#01"; the summary must gather it with the first round's runs.
func TestNamePartsCountRepeatsAsOneWorkload(t *testing.T) {
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"BenchmarkPerfScheduling/PreemptionBasic/berth/1000Nodes", []string{"BenchmarkPerfScheduling", "PreemptionBasic", "berth", "1000Nodes"}},
		{"BenchmarkPerfScheduling/PreemptionBasic/berth#01/1000Nodes", []string{"BenchmarkPerfScheduling", "PreemptionBasic", "berth", "1000Nodes"}},
		{"BenchmarkPerfScheduling/Unschedulable/default#12/1000Nodes/100Init/5kPods#01", []string{"BenchmarkPerfScheduling", "Unschedulable", "default", "1000Nodes", "100Init", "5kPods"}},
		// A "#" that is not go test's counter stays.
		{"case/#1x/#/w#", []string{"case", "#1x", "#", "w#"}},
	} {
		if got := nameParts(tc.name); !slices.Equal(got, tc.want) {
			t.Errorf("nameParts(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

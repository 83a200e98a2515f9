package report

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/berth-sched/berth/internal/sim"
)

// Run is one replay of the workload: a configuration, the sweep values applied to it,
// and what the engine returned.
type Run struct {
	// Name identifies the run in the table, the files and diff; unique in a comparison.
	Name string
	// Config is where the configuration came from: a file path, or "default".
	Config string
	// Sweep holds the swept arguments of this run, by path (e.g.
	// "PriorityPlacement.weight": "2"); empty without a sweep.
	Sweep map[string]string
	// Seed is the run's seed.
	Seed   int64
	Result *sim.Result
}

// sweepString is the sweep as one stable string: "k=v" pairs sorted by key, joined by
// ", "; "" without a sweep.
func sweepString(s map[string]string) string {
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + s[k]
	}
	return strings.Join(parts, ", ")
}

// checkRuns checks what every output needs of a comparison: one Metrics per run and
// names that tell the runs apart.
func checkRuns(runs []Run, metrics []Metrics) error {
	if len(runs) == 0 {
		return errors.New("no runs to report")
	}
	if len(runs) != len(metrics) {
		return fmt.Errorf("%d runs but %d metrics", len(runs), len(metrics))
	}
	seen := make(map[string]bool, len(runs))
	for i, r := range runs {
		if r.Name == "" {
			return fmt.Errorf("run %d has no name", i)
		}
		if seen[r.Name] {
			return fmt.Errorf("two runs are named %q; run names must be unique", r.Name)
		}
		seen[r.Name] = true
	}
	return nil
}

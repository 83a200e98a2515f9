package app

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestProgressLineAppearsOnlyAfterTwoSeconds(t *testing.T) {
	var quick bytes.Buffer
	p := newProgress(&quick)
	p.update(5, 10)
	p.finish()
	if quick.Len() != 0 {
		t.Errorf("a comparison under %v printed progress: %q", progressAfter, quick.String())
	}

	var slow bytes.Buffer
	p = newProgress(&slow)
	p.start = time.Now().Add(-progressAfter - time.Second)
	p.update(500, 1000)
	p.finish()
	if out := slow.String(); !strings.Contains(out, "replaying") || !strings.Contains(out, "500/1000") || !strings.Contains(out, "pods") {
		t.Errorf("progress line %q lacks the description and the count", out)
	}
}

// TestProgressRateIsPodsPerSecondSinceTheRunStarted: the line appears late, and the
// pods done before it count at the run's pace, not as done in the instant it appeared.
func TestProgressRateIsPodsPerSecondSinceTheRunStarted(t *testing.T) {
	cases := []struct {
		name        string
		ago         time.Duration
		done, total int
		want        string
	}{
		{"first line, 4 s in", 4 * time.Second, 400, 1000, "replaying, 100 pods/s"},
		{"first line, 10 s in", 10 * time.Second, 50, 1000, "replaying, 5 pods/s"},
		{"first line, 2.5 s in", 2500 * time.Millisecond, 420, 640, "replaying, 168 pods/s"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			p := newProgress(&out)
			p.start = time.Now().Add(-tc.ago)
			p.update(tc.done, tc.total)
			if line := out.String(); !strings.Contains(line, tc.want) {
				t.Errorf("progress line %q, want it to contain %q", line, tc.want)
			}
		})
	}
}

// TestBadFlagsAreRefusedBeforeAnyReplay: a flag value berth-sim cannot honour ends it
// with an error naming the flag, before anything is replayed: nothing is printed and
// the directory in the way is left as it was.
func TestBadFlagsAreRefusedBeforeAnyReplay(t *testing.T) {
	full := t.TempDir()
	if err := os.WriteFile(filepath.Join(full, "keep.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	const scenario = "examples/sim/mixed-qos-memory-pressure.yaml"
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"--out not empty", []string{"run", "--scenario", scenario, "--out", full}, full + " exists and is not empty"},
		{"--parallel 0", []string{"run", "--scenario", scenario, "--parallel", "0"}, "--parallel must be at least 1, got 0"},
		{"--parallel -1", []string{"run", "--scenario", scenario, "--parallel", "-1"}, "--parallel must be at least 1, got -1"},
		{"--top 0", []string{"explain", "--scenario", scenario, "--pod", "default/api-00", "--top", "0"}, "--top must be at least 1, got 0"},
		{"--top -1", []string{"explain", "--scenario", scenario, "--pod", "default/api-00", "--top", "-1"}, "--top must be at least 1, got -1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := berthSim(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
			if out != "" {
				t.Errorf("printed before refusing:\n%s", out)
			}
		})
	}
	if entries, _ := os.ReadDir(full); len(entries) != 1 || entries[0].Name() != "keep.txt" {
		t.Errorf("the directory in the way was changed: %v", entries)
	}
}

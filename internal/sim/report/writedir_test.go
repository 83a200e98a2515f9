package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var allFiles = []string{ChartFile, ManifestFile, PlacementsFile, ResultsCSV, ResultsJSON}

func writeComparison(t *testing.T, dir string, opts WriteOptions) error {
	t.Helper()
	w, runs := comparison()
	metrics, err := MeasureAll(w, runs, MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewManifest("test", w, nil)
	if err != nil {
		t.Fatal(err)
	}
	return WriteDir(dir, w, runs, metrics, m, opts)
}

// listDir names the entries of dir, sorted; nil if it does not exist.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

func TestWriteDirWritesEveryFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "out")
	if err := writeComparison(t, dir, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(allFiles, listDir(t, dir)); d != "" {
		t.Errorf("files (-want +got):\n%s", d)
	}
	if got := listDir(t, filepath.Dir(dir)); !cmp.Equal(got, []string{"out"}) {
		t.Errorf("beside the results: %v, want only out (no temporary directory left)", got)
	}
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	want := append([]string{}, resultsKeys...)
	sort.Strings(want)
	if d := cmp.Diff(want, keyPaths(t, read(ResultsJSON), "runs[].sweep")); d != "" {
		t.Errorf("results.json keys (-want +got):\n%s", d)
	}
	if header, _, _ := strings.Cut(string(read(ResultsCSV)), "\n"); header != wantCSVHeader {
		t.Errorf("results.csv header = %s", header)
	}
	if n := strings.Count(string(read(PlacementsFile)), "\n"); n != 10 {
		t.Errorf("placements.jsonl has %d lines, want 10", n)
	}
	if !bytes.Contains(read(ManifestFile), []byte(`"source": "test"`)) {
		t.Errorf("manifest.json does not describe the workload")
	}
	svg := read(ChartFile)
	if err := xml.Unmarshal(svg, new(struct{})); err != nil {
		t.Errorf("chart.svg does not parse: %v", err)
	}
	for _, run := range []string{">berth<", ">default<"} {
		if !bytes.Contains(svg, []byte(run)) {
			t.Errorf("chart.svg does not name run %s", run)
		}
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("directory mode = %v, %v; want 0755", info.Mode(), err)
	}
}

func TestWriteDirTreatsExistingDirectories(t *testing.T) {
	for _, c := range []struct {
		name      string
		old       []string // files in the directory beforehand; nil: no directory
		overwrite bool
		wantErr   string
		want      []string
	}{
		{name: "absent: created", want: allFiles},
		{name: "empty: filled", old: []string{}, want: allFiles},
		{name: "not empty: refused and left alone", old: []string{"keep.txt"}, wantErr: "exists and is not empty", want: []string{"keep.txt"}},
		{name: "not empty with overwrite: replaced", old: []string{"stale.txt", ResultsJSON}, overwrite: true, want: allFiles},
	} {
		t.Run(c.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			if c.old != nil {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				for _, f := range c.old {
					if err := os.WriteFile(filepath.Join(dir, f), []byte("old"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			err := writeComparison(t, dir, WriteOptions{Overwrite: c.overwrite})
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("error = %v, want %q", err, c.wantErr)
			}
			if d := cmp.Diff(c.want, listDir(t, dir)); d != "" {
				t.Errorf("files (-want +got):\n%s", d)
			}
			if got := listDir(t, parent); !cmp.Equal(got, []string{"out"}) {
				t.Errorf("beside the results: %v, want only out", got)
			}
		})
	}
}

func TestWriteDirRefusesAFileInTheWay(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out")
	if err := os.WriteFile(path, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeComparison(t, path, WriteOptions{Overwrite: true}); err == nil || !strings.Contains(err.Error(), "is not a directory") {
		t.Errorf("error = %v", err)
	}
}

func TestWriteDirLeavesNothingHalfWrittenOnError(t *testing.T) {
	type failure struct {
		file     string
		existing bool // overwriting a directory, or creating one
	}
	// Every file failing into a new directory; the first and last while overwriting.
	var cases []failure
	for _, f := range []string{ResultsJSON, ResultsCSV, PlacementsFile, ManifestFile, ChartFile} {
		cases = append(cases, failure{f, false})
	}
	cases = append(cases, failure{ResultsJSON, true}, failure{ChartFile, true})
	for _, c := range cases {
		name := c.file + "/new directory"
		if c.existing {
			name = c.file + "/overwriting"
		}
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "out")
			var before, beside []string
			if c.existing {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, ResultsJSON), []byte("previous"), 0o644); err != nil {
					t.Fatal(err)
				}
				before, beside = []string{ResultsJSON}, []string{"out"}
			}
			afterFile = func(name string) error {
				if name == c.file {
					return errors.New("disk full")
				}
				return nil
			}
			defer func() { afterFile = nil }()
			err := writeComparison(t, dir, WriteOptions{Overwrite: true})
			if err == nil || err.Error() != c.file+": disk full" {
				t.Fatalf("error = %v, want %s: disk full", err, c.file)
			}
			if d := cmp.Diff(before, listDir(t, dir)); d != "" {
				t.Errorf("results directory (-before +after):\n%s", d)
			}
			if c.existing {
				if b, _ := os.ReadFile(filepath.Join(dir, ResultsJSON)); string(b) != "previous" {
					t.Errorf("the previous results.json was changed: %q", b)
				}
			}
			if got := listDir(t, parent); !cmp.Equal(got, beside) {
				t.Errorf("beside the results: %v, want %v (no temporary directory)", got, beside)
			}
		})
	}
}

func TestWriteDirRejectsBadInputBeforeTouchingTheDisk(t *testing.T) {
	parent := t.TempDir()
	w, runs := comparison()
	err := WriteDir(filepath.Join(parent, "out"), w, runs, nil, Manifest{}, WriteOptions{})
	if err == nil || !strings.Contains(err.Error(), "2 runs but 0 metrics") {
		t.Errorf("error = %v", err)
	}
	if got := listDir(t, parent); got != nil {
		t.Errorf("wrote %v", got)
	}
}

package report

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/berth-sched/berth/internal/sim/workload"
)

// The files of a results directory, in the order WriteDir writes them.
const (
	ResultsJSON    = "results.json"
	ResultsCSV     = "results.csv"
	PlacementsFile = "placements.jsonl"
	ManifestFile   = "manifest.json"
	ChartFile      = "chart.svg"
)

// WriteOptions say what WriteDir may do to an existing directory.
type WriteOptions struct {
	// Overwrite lets WriteDir replace a directory that exists and is not empty.
	// Without it such a directory is an error and is left as it is; a missing or empty
	// directory is always fine.
	Overwrite bool
}

// afterFile, when set by a test, runs after each file is written; an error from it
// fails WriteDir there, as a full disk would.
var afterFile func(name string) error

// WriteDir writes a results directory atomically: every file goes into a new
// directory beside dir (".<name>.tmp-*", created with dir's parent if need be), which
// is renamed to dir once complete. On any error the temporary directory is removed and
// dir is as it was: absent, or with its old contents. An existing dir is replaced by
// renaming it aside, renaming the new one in and removing the old one.
func WriteDir(dir string, w *workload.Workload, runs []Run, metrics []Metrics, manifest Manifest, opts WriteOptions) (err error) {
	if w == nil {
		return errors.New("no workload")
	}
	results, err := NewResults(runs, metrics)
	if err != nil {
		return err
	}
	dir = filepath.Clean(dir)
	exists, err := CheckDir(dir, opts)
	if err != nil {
		return err
	}

	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".tmp-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{ResultsJSON, results.WriteJSON},
		{ResultsCSV, results.WriteCSV},
		{PlacementsFile, func(out io.Writer) error { return WritePlacements(out, w, runs) }},
		{ManifestFile, manifest.WriteJSON},
		{ChartFile, func(out io.Writer) error { return WriteChart(out, runs, metrics) }},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(tmp, f.name), f.write); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		if afterFile != nil {
			if err := afterFile(f.name); err != nil {
				return fmt.Errorf("%s: %w", f.name, err)
			}
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}

	if !exists {
		if err := os.Rename(tmp, dir); err != nil {
			return err
		}
		return syncDir(parent)
	}
	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if restore := os.Rename(old, dir); restore != nil {
			return fmt.Errorf("%w; and the previous %s could not be put back from %s: %v", err, dir, old, restore)
		}
		return err
	}
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("the results are in %s, but its previous contents are left in %s: %w", dir, old, err)
	}
	return syncDir(parent)
}

// CheckDir reports whether WriteDir may write dir with opts, and whether dir exists:
// it is refused if it is not a directory, or is not empty and opts.Overwrite is
// unset. WriteDir calls it; a caller that computes the results first calls it before,
// so that a directory in the way fails before the work rather than after.
func CheckDir(dir string, opts WriteOptions) (exists bool, err error) {
	dir = filepath.Clean(dir)
	switch info, statErr := os.Stat(dir); {
	case statErr == nil:
		if !info.IsDir() {
			return false, fmt.Errorf("%s exists and is not a directory", dir)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return false, err
		}
		if len(entries) > 0 && !opts.Overwrite {
			return false, fmt.Errorf("%s exists and is not empty: choose another directory, or overwrite it", dir)
		}
		return true, nil
	case errors.Is(statErr, fs.ErrNotExist):
		return false, nil
	default:
		return false, statErr
	}
}

// writeFile writes a file through write and flushes it to disk.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

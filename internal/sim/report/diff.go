package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Side names one run of a results directory.
type Side struct {
	Dir string
	// Run is the run's name; "" picks the directory's only run.
	Run string
}

// Comparison is what changed from run A to run B: each figure and each pod placed
// differently. Its JSON form is `berth-sim diff --json`.
type Comparison struct {
	A SideInfo `json:"a"`
	B SideInfo `json:"b"`
	// SameWorkload says whether both manifests record the same workload hash; null
	// when a directory has no manifest.json.
	SameWorkload *bool `json:"sameWorkload"`
	// SamePlacements: the placement hashes are equal.
	SamePlacements bool          `json:"samePlacements"`
	Figures        []FigureDelta `json:"figures"`
	// Pods is the number of pods compared (those of either run).
	Pods              int        `json:"pods"`
	PlacedDifferently []PodDelta `json:"placedDifferently"`
}

// SideInfo is one compared run.
type SideInfo struct {
	Dir            string            `json:"dir"`
	Run            string            `json:"run"`
	Config         string            `json:"config"`
	Sweep          map[string]string `json:"sweep"`
	PlacementHash  string            `json:"placementHash"`
	WorkloadSHA256 string            `json:"workloadSHA256"`
}

// FigureDelta is one figure of both runs, keyed as in results.csv.
type FigureDelta struct {
	Figure string   `json:"figure"`
	A      *float64 `json:"a"`
	B      *float64 `json:"b"`
	// Delta is B − A; Ratio, B / A. Null when either figure is undefined, and Ratio
	// also when A is 0.
	Delta *float64 `json:"delta"`
	Ratio *float64 `json:"ratio"`
}

// PodDelta is a pod whose node or outcome differs. A pod missing from one run (the
// runs replayed different workloads) has outcome "absent" there.
type PodDelta struct {
	Pod      string `json:"pod"`
	NodeA    string `json:"nodeA"`
	NodeB    string `json:"nodeB"`
	OutcomeA string `json:"outcomeA"`
	OutcomeB string `json:"outcomeB"`
}

// absent is the outcome of a pod that is not in a run.
const absent = "absent"

// Diff compares two runs, each read from a results directory WriteDir wrote (the same
// directory twice compares two of its runs).
func Diff(a, b Side) (*Comparison, error) {
	ra, pa, ha, err := loadSide(a)
	if err != nil {
		return nil, err
	}
	rb, pb, hb, err := loadSide(b)
	if err != nil {
		return nil, err
	}
	c := &Comparison{
		A:              SideInfo{Dir: a.Dir, Run: ra.Name, Config: ra.Config, Sweep: ra.Sweep, PlacementHash: ra.PlacementHash, WorkloadSHA256: ha},
		B:              SideInfo{Dir: b.Dir, Run: rb.Name, Config: rb.Config, Sweep: rb.Sweep, PlacementHash: rb.PlacementHash, WorkloadSHA256: hb},
		SamePlacements: ra.PlacementHash == rb.PlacementHash,
	}
	if ha != "" && hb != "" {
		same := ha == hb
		c.SameWorkload = &same
	}
	c.Figures = figureDeltas(&ra.Metrics, &rb.Metrics)
	c.Pods, c.PlacedDifferently = podDeltas(pa, pb)
	return c, nil
}

// loadSide reads a run's figures and placements and the directory's workload hash (""
// without a manifest).
func loadSide(s Side) (*RunResults, []Placement, string, error) {
	data, err := os.ReadFile(filepath.Join(s.Dir, ResultsJSON))
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s is not a berth-sim results directory: %w", s.Dir, err)
	}
	var res Results
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", filepath.Join(s.Dir, ResultsJSON), err)
	}
	if res.SchemaVersion > SchemaVersion {
		return nil, nil, "", fmt.Errorf("%s: schemaVersion %d is newer than this berth-sim reads (%d)", filepath.Join(s.Dir, ResultsJSON), res.SchemaVersion, SchemaVersion)
	}
	var names []string
	var run *RunResults
	for i := range res.Runs {
		names = append(names, res.Runs[i].Name)
		if res.Runs[i].Name == s.Run || s.Run == "" && len(res.Runs) == 1 {
			run = &res.Runs[i]
		}
	}
	switch {
	case run == nil && s.Run == "":
		return nil, nil, "", fmt.Errorf("%s holds %d runs (%s): name the one to compare", s.Dir, len(names), strings.Join(names, ", "))
	case run == nil:
		return nil, nil, "", fmt.Errorf("%s has no run named %q; its runs: %s", s.Dir, s.Run, strings.Join(names, ", "))
	}

	f, err := os.Open(filepath.Join(s.Dir, PlacementsFile))
	if err != nil {
		return nil, nil, "", err
	}
	defer f.Close()
	placements, err := readPlacements(f, run.Name)
	if err != nil {
		return nil, nil, "", fmt.Errorf("%s: %w", filepath.Join(s.Dir, PlacementsFile), err)
	}

	var manifest Manifest
	data, err = os.ReadFile(filepath.Join(s.Dir, ManifestFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, nil, "", err
	default:
		if err := json.Unmarshal(data, &manifest); err != nil {
			return nil, nil, "", fmt.Errorf("%s: %w", filepath.Join(s.Dir, ManifestFile), err)
		}
	}
	return run, placements, manifest.Workload.SHA256, nil
}

// figureDeltas pairs the numeric figures of both runs by their results.csv key; a
// tier's priority is the tier's name, not a figure, and is left out.
func figureDeltas(a, b *Metrics) []FigureDelta {
	tiers := tierUnion([]Metrics{*a, *b})
	ca, cb := a.figures(tiers), b.figures(tiers)
	var out []FigureDelta
	for i := range ca {
		if !ca[i].numeric || strings.HasPrefix(ca[i].key, "tiers.") && strings.HasSuffix(ca[i].key, ".priority") {
			continue
		}
		d := FigureDelta{Figure: ca[i].key, A: ca[i].num, B: cb[i].num}
		if d.A != nil && d.B != nil {
			delta := *d.B - *d.A
			d.Delta = &delta
			if *d.A != 0 {
				ratio := *d.B / *d.A
				d.Ratio = &ratio
			}
		}
		out = append(out, d)
	}
	return out
}

// podDeltas lists the pods whose node or outcome differ, in A's order, then pods only
// B has; and how many pods were compared.
func podDeltas(a, b []Placement) (int, []PodDelta) {
	inB := make(map[string]*Placement, len(b))
	for i := range b {
		inB[b[i].Pod] = &b[i]
	}
	inA := make(map[string]bool, len(a))
	out := []PodDelta{}
	for i := range a {
		pa := &a[i]
		inA[pa.Pod] = true
		d := PodDelta{Pod: pa.Pod, NodeA: pa.Node, OutcomeA: pa.Outcome, OutcomeB: absent}
		if pb := inB[pa.Pod]; pb != nil {
			d.NodeB, d.OutcomeB = pb.Node, pb.Outcome
		}
		if d.NodeA != d.NodeB || d.OutcomeA != d.OutcomeB {
			out = append(out, d)
		}
	}
	pods := len(a)
	for i := range b {
		if !inA[b[i].Pod] {
			pods++
			out = append(out, PodDelta{Pod: b[i].Pod, NodeB: b[i].Node, OutcomeA: absent, OutcomeB: b[i].Outcome})
		}
	}
	return pods, out
}

// WriteJSON writes the comparison as indented JSON.
func (c *Comparison) WriteJSON(out io.Writer) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

// WriteText writes the comparison for a terminal: the two runs, whether workload and
// placements are the same, each figure with B − A and B / A, then the pods placed
// differently.
func (c *Comparison) WriteText(out io.Writer) error {
	var b strings.Builder
	for _, s := range []struct {
		label string
		info  SideInfo
	}{{"A", c.A}, {"B", c.B}} {
		fmt.Fprintf(&b, "%s: run %s in %s, config %s", s.label, s.info.Run, s.info.Dir, s.info.Config)
		if len(s.info.Sweep) > 0 {
			fmt.Fprintf(&b, ", sweep %s", sweepString(s.info.Sweep))
		}
		b.WriteByte('\n')
	}
	switch {
	case c.SameWorkload == nil:
		b.WriteString("workload: unknown (a directory has no manifest.json)\n")
	case *c.SameWorkload:
		fmt.Fprintf(&b, "workload: the same (%s)\n", shortHash(c.A.WorkloadSHA256))
	default:
		fmt.Fprintf(&b, "workload: DIFFERENT (%s, %s): pods are compared by name\n", shortHash(c.A.WorkloadSHA256), shortHash(c.B.WorkloadSHA256))
	}
	if c.SamePlacements {
		fmt.Fprintf(&b, "placements: the same (%s)\n\n", shortHash(c.A.PlacementHash))
	} else {
		fmt.Fprintf(&b, "placements: different (%s, %s)\n\n", shortHash(c.A.PlacementHash), shortHash(c.B.PlacementHash))
	}
	if _, err := io.WriteString(out, b.String()); err != nil {
		return err
	}

	rows := [][]string{{"figure", "A", "B", "B-A", "B/A"}}
	for _, f := range c.Figures {
		rows = append(rows, []string{f.Figure, number(f.A, false), number(f.B, false), number(f.Delta, true), ratio(f.Ratio)})
	}
	if err := writeAligned(out, rows, true); err != nil {
		return err
	}

	if _, err := fmt.Fprintf(out, "\npods placed differently: %d of %d\n", len(c.PlacedDifferently), c.Pods); err != nil {
		return err
	}
	if len(c.PlacedDifferently) == 0 {
		return nil
	}
	rows = [][]string{{"pod", "node A", "node B", "outcome A", "outcome B"}}
	for _, p := range c.PlacedDifferently {
		rows = append(rows, []string{p.Pod, orDashString(p.NodeA), orDashString(p.NodeB), p.OutcomeA, p.OutcomeB})
	}
	return writeAligned(out, rows, false)
}

// number shows a figure: integers as such, other values to 4 decimals without
// trailing zeros; signed shows a + on positive deltas; "-" when undefined.
func number(v *float64, signed bool) string {
	if v == nil {
		return "-"
	}
	var s string
	if *v == math.Trunc(*v) && math.Abs(*v) < 1e15 {
		s = strconv.FormatInt(int64(*v), 10)
	} else {
		s = strings.TrimRight(strings.TrimRight(strconv.FormatFloat(*v, 'f', 4, 64), "0"), ".")
	}
	if signed && *v > 0 {
		s = "+" + s
	}
	return s
}

func ratio(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', 3, 64)
}

func orDashString(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strconv"
)

// SchemaVersion is results.json's schemaVersion. Keys are only ever added; a change
// that renames or removes one would need a new version.
const SchemaVersion = 1

// Results is results.json: every run of a comparison, in order.
type Results struct {
	SchemaVersion int          `json:"schemaVersion"`
	Runs          []RunResults `json:"runs"`
}

// RunResults is one run in results.json: its inputs, then its figures.
type RunResults struct {
	Name   string            `json:"name"`
	Config string            `json:"config"`
	Sweep  map[string]string `json:"sweep"`
	Seed   int64             `json:"seed"`
	Metrics
}

// NewResults pairs each run with its figures.
func NewResults(runs []Run, metrics []Metrics) (Results, error) {
	if err := checkRuns(runs, metrics); err != nil {
		return Results{}, err
	}
	res := Results{SchemaVersion: SchemaVersion, Runs: make([]RunResults, len(runs))}
	for i, r := range runs {
		sweep := r.Sweep
		if sweep == nil {
			sweep = map[string]string{}
		}
		m := metrics[i]
		if m.Tiers == nil {
			m.Tiers = []TierMetrics{}
		}
		res.Runs[i] = RunResults{Name: r.Name, Config: r.Config, Sweep: sweep, Seed: r.Seed, Metrics: m}
	}
	return res, nil
}

// WriteJSON writes results.json: indented, keys in the order of the Go types.
func (r Results) WriteJSON(out io.Writer) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

// WriteCSV writes results.csv: a header, then one row per run holding the same figures
// as results.json under the same keys, nested keys joined by "." ("victimsByQoS.
// BestEffort"), tiers as "tiers.<tier>.<key>" with the tier's name ("(none)" for pods
// without a class), the sweep as "key=value" pairs sorted by key; undefined (null)
// figures are empty cells.
func (r Results) WriteCSV(out io.Writer) error {
	w := csv.NewWriter(out)
	tiers := resultTiers(r.Runs)
	for i, run := range r.Runs {
		cols := run.columns(tiers)
		if i == 0 {
			header := make([]string, len(cols))
			for j, c := range cols {
				header[j] = c.key
			}
			if err := w.Write(header); err != nil {
				return err
			}
		}
		row := make([]string, len(cols))
		for j, c := range cols {
			row[j] = c.text
		}
		if err := w.Write(row); err != nil {
			return err
		}
	}
	w.Flush()
	return w.Error()
}

// resultTiers lists the tiers of all runs, the first run's order first.
func resultTiers(runs []RunResults) []TierMetrics {
	ms := make([]Metrics, len(runs))
	for i := range runs {
		ms[i] = runs[i].Metrics
	}
	return tierUnion(ms)
}

// column is one flattened figure of a run.
type column struct {
	key  string
	text string
	// numeric says the figure is a number; num is nil when it is undefined.
	numeric bool
	num     *float64
}

// columns flattens the run: its inputs (name, config, sweep, seed), then figures.
func (r *RunResults) columns(tiers []TierMetrics) []column {
	cols := []column{
		{key: "name", text: r.Name},
		{key: "config", text: r.Config},
		{key: "sweep", text: sweepString(r.Sweep)},
		{key: "seed", text: strconv.FormatInt(r.Seed, 10)},
	}
	return append(cols, r.Metrics.figures(tiers)...)
}

// figures flattens the metrics through their JSON keys, so that the CSV and diff name
// each figure exactly as results.json does.
func (m *Metrics) figures(tiers []TierMetrics) []column {
	var cols []column
	flattenStruct("", reflect.TypeFor[Metrics](), reflect.ValueOf(*m), &cols)
	for _, tier := range tiers {
		prefix := "tiers." + TierName(tier.Tier) + "."
		var v reflect.Value // a tier this run lacks: empty cells
		if t := findTier(m, tier.Tier); t != nil {
			v = reflect.ValueOf(*t)
		}
		flattenStruct(prefix, reflect.TypeFor[TierMetrics](), v, &cols)
	}
	return cols
}

// flattenStruct appends the leaves of a struct of type t, in field order, but for the
// tiers (flattened by tier name by the caller) and a tier's own name; v is the value,
// or invalid when it is undefined (a nil pointer): its leaves are then empty.
func flattenStruct(prefix string, t reflect.Type, v reflect.Value, cols *[]column) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name := jsonName(f)
		if name == "tiers" || name == "tier" {
			continue
		}
		var fv reflect.Value
		if v.IsValid() {
			fv = v.Field(i)
		}
		flattenField(prefix+name, f.Type, fv, cols)
	}
}

func flattenField(key string, t reflect.Type, v reflect.Value, cols *[]column) {
	if t.Kind() == reflect.Pointer {
		if v.IsValid() && !v.IsNil() {
			v = v.Elem()
		} else {
			v = reflect.Value{}
		}
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		flattenStruct(key+".", t, v, cols)
	case reflect.Int, reflect.Int32, reflect.Int64:
		c := column{key: key, numeric: true}
		if v.IsValid() {
			n := float64(v.Int())
			c.text, c.num = strconv.FormatInt(v.Int(), 10), &n
		}
		*cols = append(*cols, c)
	case reflect.Float64:
		c := column{key: key, numeric: true}
		if v.IsValid() {
			n := v.Float()
			c.text, c.num = jsonFloat(n), &n
		}
		*cols = append(*cols, c)
	case reflect.String:
		c := column{key: key}
		if v.IsValid() {
			c.text = v.String()
		}
		*cols = append(*cols, c)
	default: // no such figure today; shown as Go prints it rather than dropped
		c := column{key: key}
		if v.IsValid() {
			c.text = fmt.Sprint(v.Interface())
		}
		*cols = append(*cols, c)
	}
}

// jsonFloat formats a float as results.json does (encoding/json), so a CSV cell reads
// the same as its JSON value.
func jsonFloat(f float64) string {
	b, err := json.Marshal(f)
	if err != nil { // NaN or infinity: results.json refuses them too
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return string(b)
}

func jsonName(f reflect.StructField) string {
	tag := f.Tag.Get("json")
	for i := 0; i < len(tag); i++ {
		if tag[i] == ',' {
			return tag[:i]
		}
	}
	return tag
}

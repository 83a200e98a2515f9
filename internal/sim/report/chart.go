package report

import (
	"fmt"
	"io"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// chartPanel is one bar chart of the SVG: a figure for each category, one bar per run.
type chartPanel struct {
	title, yLabel string
	categories    []string
	// value is run i's figure for category c; ok false when it is undefined (drawn as
	// an empty bar labelled "n/a").
	value func(i, c int) (v float64, ok bool)
	// show labels a bar with its value.
	show func(float64) string
}

// WriteChart writes chart.svg: a title, a legend naming the runs, then three panels of
// grouped bars (one bar per run, each labelled with its value, so the chart reads
// without the table): pods scheduled and pending at the end; victims by QoS class;
// pending time p99 per priority tier. Fonts are embedded: the file is self-contained.
func WriteChart(out io.Writer, runs []Run, metrics []Metrics) error {
	return drawChart(out, runs, metrics, func(w, h vg.Length) vg.CanvasWriterTo {
		return vgsvg.NewWith(vgsvg.UseWH(w, h), vgsvg.EmbedFonts(true))
	})
}

// drawChart draws the chart on a canvas newCanvas makes (SVG for the file).
func drawChart(out io.Writer, runs []Run, metrics []Metrics, newCanvas func(w, h vg.Length) vg.CanvasWriterTo) error {
	if err := checkRuns(runs, metrics); err != nil {
		return err
	}
	tiers := tierUnion(metrics)
	tierNames := make([]string, len(tiers))
	for i, t := range tiers {
		tierNames[i] = TierName(t.Tier)
	}
	count := func(v float64) string { return strconv.Itoa(int(v)) }
	panels := []chartPanel{{
		title: "Pods scheduled and pending at the end", yLabel: "pods",
		categories: []string{"scheduled", "pending at end", "never scheduled"},
		value: func(i, c int) (float64, bool) {
			m := &metrics[i]
			return float64([]int{m.Scheduled, m.Pending, m.NeverScheduled}[c]), true
		},
		show: count,
	}, {
		title: "Preemption victims by QoS class", yLabel: "victims",
		categories: []string{"BestEffort", "Burstable", "Guaranteed"},
		value: func(i, c int) (float64, bool) {
			v := metrics[i].VictimsByQoS
			return float64([]int{v.BestEffort, v.Burstable, v.Guaranteed}[c]), true
		},
		show: count,
	}, {
		title: "Pending time p99 by priority tier (virtual time)", yLabel: "seconds",
		categories: tierNames,
		value: func(i, c int) (float64, bool) {
			t := findTier(&metrics[i], tiers[c].Tier)
			if t == nil || t.PendingTime == nil {
				return 0, false
			}
			return t.PendingTime.P99Seconds, true
		},
		show: seconds,
	}}

	// Bars narrow as runs grow; the chart widens with the widest panel.
	barWidth := vg.Points(max(6, min(22, 240/float64(len(runs)))))
	widest := 0
	for _, p := range panels {
		widest = max(widest, len(p.categories))
	}
	width := max(vg.Points(640), vg.Length(widest)*(vg.Length(len(runs))*barWidth+vg.Points(40))+vg.Points(120))
	legendHeight := vg.Points(14*float64(len(runs)) + 16)
	panelHeight := vg.Points(230)
	height := vg.Points(40) + legendHeight + 3*panelHeight

	var plots [][]*plot.Plot
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	for k, panel := range panels {
		p, err := panel.plot(runs, barWidth, func(name string, bar *plotter.BarChart) {
			if k == 0 {
				legend.Add(name, bar)
			}
		})
		if err != nil {
			return fmt.Errorf("chart %q: %w", panel.title, err)
		}
		plots = append(plots, []*plot.Plot{p})
	}

	c := newCanvas(width, height)
	dc := draw.New(c)
	titleStyle := text.Style{Font: plot.DefaultFont, Handler: plot.DefaultTextHandler, XAlign: draw.XLeft, YAlign: draw.YTop}
	titleStyle.Font.Size = vg.Points(14)
	dc.FillText(titleStyle, vg.Point{X: dc.Min.X + vg.Points(12), Y: dc.Max.Y - vg.Points(10)},
		fmt.Sprintf("berth-sim: %d runs compared", len(runs)))
	header := draw.Crop(dc, vg.Points(12), 0, height-vg.Points(40)-legendHeight, -vg.Points(36))
	legend.Draw(header)
	body := draw.Crop(dc, 0, 0, 0, -(vg.Points(40) + legendHeight))
	tiles := draw.Tiles{Rows: 3, Cols: 1, PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12), PadY: vg.Points(14)}
	canvases := plot.Align(plots, tiles, body)
	for r := range plots {
		plots[r][0].Draw(canvases[r][0])
	}
	_, err := c.WriteTo(out)
	return err
}

// plot builds the panel's bar chart; each run's bars go to onBars for the legend.
func (panel chartPanel) plot(runs []Run, barWidth vg.Length, onBars func(string, *plotter.BarChart)) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = panel.title
	p.Y.Label.Text = panel.yLabel
	p.Y.Min = 0
	p.NominalX(panel.categories...)
	top := 0.0
	for i, r := range runs {
		values := make(plotter.Values, len(panel.categories))
		labels := plotter.XYLabels{XYs: make(plotter.XYs, len(panel.categories)), Labels: make([]string, len(panel.categories))}
		for c := range panel.categories {
			v, ok := panel.value(i, c)
			values[c] = v
			labels.XYs[c] = plotter.XY{X: float64(c), Y: v}
			labels.Labels[c] = "n/a"
			if ok {
				labels.Labels[c] = panel.show(v)
			}
			top = max(top, v)
		}
		bars, err := plotter.NewBarChart(values, barWidth)
		if err != nil {
			return nil, err
		}
		offset := (vg.Length(i) - vg.Length(len(runs)-1)/2) * barWidth
		bars.Offset = offset
		bars.Color = plotutil.Color(i)
		bars.LineStyle.Width = 0
		text, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, err
		}
		for k := range text.TextStyle {
			text.TextStyle[k].XAlign = draw.XCenter
			text.TextStyle[k].Font.Size = vg.Points(8)
		}
		text.Offset = vg.Point{X: offset, Y: vg.Points(2)}
		p.Add(bars, text)
		onBars(r.Name, bars)
	}
	// Room above the tallest bar for its label.
	p.Y.Max = max(1, top*1.15)
	return p, nil
}

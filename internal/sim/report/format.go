package report

import (
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// writeAligned writes rows as columns two spaces apart, no trailing spaces: the first
// column left-aligned, the others right-aligned when they hold figures (numeric), else
// left-aligned. text/tabwriter aligns a whole table one way only.
func writeAligned(out io.Writer, rows [][]string, numeric bool) error {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		var line strings.Builder
		for i, c := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0:
				line.WriteString(c + pad)
			case numeric:
				line.WriteString("  " + pad + c)
			default:
				line.WriteString("  " + c + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// seconds shows virtual or wall seconds as a duration rounded to the millisecond
// ("1m30.5s", "250ms").
func seconds(s float64) string {
	return (time.Duration(math.Round(s*1e3)) * time.Millisecond).String()
}

func percent(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" }

func decimal(f float64, digits int) string { return strconv.FormatFloat(f, 'f', digits, 64) }

// orDash shows a figure that may be undefined.
func orDash[T any](v *T, show func(T) string) string {
	if v == nil {
		return "-"
	}
	return show(*v)
}

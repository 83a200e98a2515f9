package report

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
)

// docSection is the text of docs/simulator.md under heading (e.g. "###
// results.json"), up to the next heading of the same or a higher level.
func docSection(t *testing.T, heading string) string {
	t.Helper()
	doc, err := os.ReadFile("../../../docs/simulator.md")
	if err != nil {
		t.Fatal(err)
	}
	level := strings.IndexByte(heading, ' ')
	var out []string
	in := false
	for _, line := range strings.Split(string(doc), "\n") {
		if hashes := len(line) - len(strings.TrimLeft(line, "#")); hashes > 0 && strings.HasPrefix(line[hashes:], " ") {
			if in && hashes <= level {
				break
			}
			in = in || line == heading
			continue
		}
		if in {
			out = append(out, line)
		}
	}
	if !in {
		t.Fatalf("docs/simulator.md has no %q section", heading)
	}
	return strings.Join(out, "\n")
}

var (
	fenced     = regexp.MustCompile("(?s)```.*?```")
	backticked = regexp.MustCompile("`([^`\n]+)`")
)

// documented are the code spans of a section, outside fenced blocks.
func documented(section string) map[string]bool {
	out := map[string]bool{}
	for _, m := range backticked.FindAllStringSubmatch(fenced.ReplaceAllString(section, ""), -1) {
		out[m[1]] = true
	}
	return out
}

func TestDocsDescribeEveryKeyOfEveryFile(t *testing.T) {
	var line bytes.Buffer
	w, runs := comparison()
	if err := WritePlacements(&line, w, runs[:1]); err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(line.String(), "\n")
	for _, c := range []struct {
		section string
		keys    []string
	}{
		{"#### results.json", resultsKeys},
		{"#### placements.jsonl", keyPaths(t, []byte(first))},
		{"#### manifest.json", manifestKeys},
		{"### berth-sim diff", diffKeys},
	} {
		t.Run(c.section, func(t *testing.T) {
			doc := documented(docSection(t, c.section))
			for _, k := range c.keys {
				if !doc[k] {
					t.Errorf("key %s is not documented under %q", k, c.section)
				}
			}
		})
	}
}

func TestDocsDefineEveryFigure(t *testing.T) {
	// The first cell of each row of the Figures table names the figures it defines.
	defined := map[string]bool{}
	for _, line := range strings.Split(docSection(t, "### Figures"), "\n") {
		if cells := strings.Split(line, "|"); len(cells) > 2 {
			for k := range documented(cells[1]) {
				defined[k] = true
			}
		}
	}
	for _, k := range resultsKeys {
		figure, ok := strings.CutPrefix(k, "runs[].")
		if !ok || strings.ContainsAny(figure, ".[") || figure == "name" || figure == "config" || figure == "sweep" || figure == "seed" {
			continue
		}
		if !defined[figure] {
			t.Errorf("figure %s has no row under ## Figures", figure)
		}
	}
}

func TestDocsListNoResultsKeyThatDoesNotExist(t *testing.T) {
	known := map[string]bool{}
	for _, k := range resultsKeys {
		known[k] = true
	}
	for k := range documented(docSection(t, "#### results.json")) {
		if (strings.HasPrefix(k, "runs[]") || k == "schemaVersion") && !known[k] {
			t.Errorf("docs list %s, which results.json does not have", k)
		}
	}
}

package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestWriteChartIsValidSVGNamingEveryRun(t *testing.T) {
	w, runs := comparison()
	metrics, err := MeasureAll(w, runs, MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := WriteChart(&b, runs, metrics); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := WriteChart(&again, runs, metrics); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), again.Bytes()) {
		t.Error("two charts of the same runs differ")
	}
	if bytes.Contains(b.Bytes(), []byte("xlink:href=\"http")) || bytes.Contains(b.Bytes(), []byte("url(http")) {
		t.Error("chart.svg refers to an outside resource")
	}
	if !bytes.Contains(b.Bytes(), []byte("@font-face")) {
		t.Error("chart.svg does not embed its font")
	}
	var texts []string
	dec := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	root := ""
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart.svg is not XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = tok.Name.Local
			}
			inText = tok.Name.Local == "text"
		case xml.CharData:
			if inText {
				texts = append(texts, string(tok))
			}
		case xml.EndElement:
			inText = false
		}
	}
	if root != "svg" {
		t.Errorf("root element = %q, want svg", root)
	}
	all := strings.Join(texts, "\n")
	for _, want := range []string{"berth", "default", "Preemption victims by QoS class", "Guaranteed", "Pending time p99 by priority tier (virtual time)", "critical", "58s"} {
		if !contains(texts, want) {
			t.Errorf("no text element %q in the chart; texts:\n%s", want, all)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

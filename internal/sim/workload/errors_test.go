package workload

import (
	"fmt"
	"strings"
	"testing"
)

func TestErrorNamesFileLineColumnAndField(t *testing.T) {
	for _, c := range []struct {
		err  Error
		want string
	}{
		{Error{File: "f.yaml", Msg: "the file is empty"}, "f.yaml: the file is empty"},
		{Error{File: "f.yaml", Line: 3, Field: "podGroups[0].count", Msg: "bad"}, "f.yaml:3: podGroups[0].count: bad"},
		{Error{File: "p.csv", Line: 7, Column: 12, Field: "cpu_milli", Msg: "bad"}, "p.csv:7:12: cpu_milli: bad"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}

func TestErrorListSortsByLineAndDropsRepeats(t *testing.T) {
	l := ErrorList{
		{File: "f", Line: 9, Msg: "c"},
		{File: "f", Line: 2, Msg: "a"},
		{File: "f", Line: 9, Msg: "c"},
		{File: "f", Line: 2, Msg: "b"},
	}
	if got, want := l.asError().Error(), "f:2: a\nf:2: b\nf:9: c"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if (ErrorList{}).asError() != nil {
		t.Error("an empty list is not an error")
	}
}

func TestErrorListShortensAVeryBrokenFile(t *testing.T) {
	var l ErrorList
	for i := 1; i <= maxReported+7; i++ {
		l = append(l, &Error{File: "f", Line: i, Msg: "x"})
	}
	lines := strings.Split(l.Error(), "\n")
	if len(lines) != maxReported+1 || lines[maxReported] != fmt.Sprintf("... and 7 more") {
		t.Errorf("%d lines, last %q", len(lines), lines[len(lines)-1])
	}
}

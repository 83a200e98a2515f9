package workload

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in an input file: where it is and what is wrong with it.
type Error struct {
	File string
	// Line is 1-based; 0 when the problem is the file as a whole.
	Line int
	// Column is 1-based; 0 when not meaningful (scenario files report lines only).
	Column int
	// Field is the field path (scenario) or the column name (CSV); "" for the file.
	Field string
	// Msg says what is wrong and what is allowed.
	Msg string
}

// Error renders file:line[:column]: field: message.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Column > 0 {
			fmt.Fprintf(&b, ":%d", e.Column)
		}
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in an input, in file and line order. A file is
// checked in full, so one run shows all of its mistakes.
type ErrorList []*Error

// maxReported bounds the message of a very broken file.
const maxReported = 50

// Error renders one problem per line.
func (l ErrorList) Error() string {
	lines := make([]string, 0, min(len(l), maxReported)+1)
	for i, e := range l {
		if i == maxReported {
			lines = append(lines, fmt.Sprintf("... and %d more", len(l)-maxReported))
			break
		}
		lines = append(lines, e.Error())
	}
	return strings.Join(lines, "\n")
}

// sorted orders the list by file, line and column, keeping the order of problems found
// at one place, and drops exact repeats.
func (l ErrorList) sorted() ErrorList {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i], l[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
	out := l[:0]
	seen := make(map[Error]bool, len(l))
	for _, e := range l {
		if !seen[*e] {
			seen[*e] = true
			out = append(out, e)
		}
	}
	return out
}

// asError is nil for an empty list (a nil ErrorList in an error interface is not nil).
func (l ErrorList) asError() error {
	if len(l) == 0 {
		return nil
	}
	return l.sorted()
}

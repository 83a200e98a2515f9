package workload

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// csvTable reads a CSV file whose first record names its columns. Columns are found
// by name, so their order does not matter and columns it does not know are ignored;
// encoding/csv handles quoted fields and CRLF line ends, and a UTF-8 byte-order mark
// (as spreadsheets write one) is skipped. Problems are collected with file, line and
// column, so that one pass reports all of them.
type csvTable struct {
	file string
	r    *csv.Reader
	col  map[string]int
	errs ErrorList
}

// openCSV reads the header and checks that it has the required columns.
func openCSV(file string, rd io.Reader, required []string) (*csvTable, error) {
	br := bufio.NewReader(rd)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\uFEFF" {
		_, _ = br.Discard(3)
	}
	t := &csvTable{file: file, r: csv.NewReader(br), col: map[string]int{}}
	t.r.ReuseRecord = true
	header, err := t.r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &Error{File: file, Msg: "the file is empty; its first line must name the columns: " + strings.Join(required, ",")}
	}
	if err != nil {
		return nil, t.parseError(err)
	}
	for i, name := range header {
		name = strings.TrimSpace(name)
		if _, dup := t.col[name]; dup {
			line, col := t.r.FieldPos(i)
			return nil, &Error{File: file, Line: line, Column: col, Msg: fmt.Sprintf("column %q appears twice in the header", name)}
		}
		t.col[name] = i
	}
	var missing []string
	for _, name := range required {
		if _, ok := t.col[name]; !ok {
			missing = append(missing, strconv.Quote(name))
		}
	}
	if len(missing) > 0 {
		return nil, &Error{File: file, Line: 1, Msg: fmt.Sprintf("missing column %s; the header must name %s (in any order)",
			strings.Join(missing, ", "), strings.Join(required, ","))}
	}
	return t, nil
}

// parseError turns an encoding/csv error into an Error at its line and column.
func (t *csvTable) parseError(err error) *Error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{File: t.file, Line: pe.Line, Column: pe.Column, Msg: pe.Err.Error()}
	}
	return &Error{File: t.file, Msg: err.Error()}
}

// next returns the next record, or nil at the end of the file or after an error that
// leaves the rest unreadable (recorded).
func (t *csvTable) next() *csvRow {
	for {
		rec, err := t.r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, csv.ErrFieldCount) {
			line, _ := t.r.FieldPos(0)
			t.errs = append(t.errs, &Error{File: t.file, Line: line,
				Msg: fmt.Sprintf("%d fields, but the header names %d columns", len(rec), len(t.col))})
			continue
		}
		if err != nil {
			t.errs = append(t.errs, t.parseError(err))
			return nil
		}
		line, _ := t.r.FieldPos(0)
		return &csvRow{t: t, rec: rec, line: line}
	}
}

// csvRow is one record, read by column name.
type csvRow struct {
	t    *csvTable
	rec  []string
	line int
}

// errorf records a problem with a field of the row.
func (r *csvRow) errorf(column, format string, args ...any) {
	line, col := r.t.r.FieldPos(r.t.col[column])
	r.t.errs = append(r.t.errs, &Error{File: r.t.file, Line: line, Column: col, Field: column, Msg: fmt.Sprintf(format, args...)})
}

// text is a field, trimmed of spaces.
func (r *csvRow) text(column string) string {
	return strings.TrimSpace(r.rec[r.t.col[column]])
}

// optional is a field that may be empty; pandas writes "nan" for an empty value.
func (r *csvRow) optional(column string) (string, bool) {
	s := r.text(column)
	if s == "" || strings.EqualFold(s, "nan") {
		return "", false
	}
	return s, true
}

// required is a field that must not be empty.
func (r *csvRow) required(column string) (string, bool) {
	s, ok := r.optional(column)
	if !ok {
		r.errorf(column, "empty: a value is required")
	}
	return s, ok
}

var wholePattern = regexp.MustCompile(`^[0-9]+(\.0*)?$`)

// whole reads a whole number, 0 or more (a trailing ".0", as pandas writes integers
// of columns that have gaps, is accepted).
func (r *csvRow) whole(column string) (int64, bool) {
	s, ok := r.required(column)
	if !ok {
		return 0, false
	}
	if !wholePattern.MatchString(s) {
		r.errorf(column, "%s: %s", strconv.Quote(s), numberProblem(s, "a whole number"))
		return 0, false
	}
	digits, _, _ := strings.Cut(s, ".")
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		r.errorf(column, "%s is out of range", s)
		return 0, false
	}
	return n, true
}

var decimalPattern = regexp.MustCompile(`^([0-9]+)(?:\.([0-9]*))?$`)

// seconds reads a time in seconds, 0 or more, with an optional fraction, exactly to
// the nanosecond; ok is false if the field is empty or wrong (then recorded).
func (r *csvRow) seconds(column string, optional bool) (time.Duration, bool) {
	s, ok := r.optional(column)
	if !ok {
		if !optional {
			r.errorf(column, "empty: a value is required")
		}
		return 0, false
	}
	m := decimalPattern.FindStringSubmatch(s)
	if m == nil {
		r.errorf(column, "%s: %s", strconv.Quote(s), numberProblem(s, "a number of seconds"))
		return 0, false
	}
	whole, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || whole > int64(maxTime/time.Second) {
		r.errorf(column, "%s is out of range: at most %d seconds", s, int64(maxTime/time.Second))
		return 0, false
	}
	frac := (m[2] + "000000000")[:9]
	ns, _ := strconv.ParseInt(frac, 10, 64)
	return time.Duration(whole)*time.Second + time.Duration(ns), true
}

// numberProblem says what is wrong with a field that should be a number.
func numberProblem(s, want string) string {
	if _, err := strconv.ParseFloat(s, 64); err == nil && strings.HasPrefix(s, "-") {
		return "must not be negative"
	}
	return "must be " + want
}

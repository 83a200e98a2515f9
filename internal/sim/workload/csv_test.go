package workload

import (
	"strings"
	"testing"
	"time"
)

// readAll reads every row's a (a whole number) and t (optional seconds).
func readAll(t *testing.T, data string) ([]int64, []time.Duration, error) {
	t.Helper()
	tab, err := openCSV("f.csv", strings.NewReader(data), []string{"a", "t"})
	if err != nil {
		return nil, nil, err
	}
	var as []int64
	var ts []time.Duration
	for r := tab.next(); r != nil; r = tab.next() {
		a, _ := r.whole("a")
		d, ok := r.seconds("t", true)
		if !ok {
			d = -1
		}
		as, ts = append(as, a), append(ts, d)
	}
	return as, ts, tab.errs.asError()
}

func TestCSVReadsColumnsByName(t *testing.T) {
	for _, c := range []struct{ name, data string }{
		{"header order", "a,t\n1,2\n3,\n"},
		{"other order", "t,a\n2,1\n,3\n"},
		{"extra columns", "x,t,y,a\nq,2,r,1\nq,,r,3\n"},
		{"CRLF", "a,t\r\n1,2\r\n3,\r\n"},
		{"quoted fields", "\"a\",\"t\"\n\"1\",\"2\"\n\"3\",\"\"\n"},
		{"byte-order mark", "\uFEFFa,t\n1,2\n3,\n"},
		{"spaces around values, pandas' nan", "a , t\n 1 , 2\n3,nan\n"},
		{"no final newline", "a,t\n1,2\n3,"},
	} {
		t.Run(c.name, func(t *testing.T) {
			as, ts, err := readAll(t, c.data)
			if err != nil {
				t.Fatal(err)
			}
			if len(as) != 2 || as[0] != 1 || as[1] != 3 || ts[0] != 2*time.Second || ts[1] != -1 {
				t.Errorf("a %v t %v, want [1 3] [2s absent]", as, ts)
			}
		})
	}
}

func TestCSVSeconds(t *testing.T) {
	for _, c := range []struct {
		text string
		want time.Duration
	}{
		{"0", 0},
		{"12902960", 12902960 * time.Second},
		{"1.5", 1500 * time.Millisecond},
		{"2.000000001", 2*time.Second + 1},
		{"3.0000000019", 3*time.Second + 1}, // below a nanosecond: cut
		{"7.", 7 * time.Second},
	} {
		_, ts, err := readAll(t, "a,t\n1,"+c.text+"\n")
		if err != nil || ts[0] != c.want {
			t.Errorf("%q: %v %v, want %v", c.text, ts, err, c.want)
		}
	}
}

func TestCSVErrorsNameFileLineAndColumn(t *testing.T) {
	for _, c := range []struct{ name, data, want string }{
		{"empty file", "", "f.csv: the file is empty; its first line must name the columns: a,t"},
		{"missing column", "a,x\n1,2\n", `f.csv:1: missing column "t"; the header must name a,t (in any order)`},
		{"missing columns", "x\n1\n", `f.csv:1: missing column "a", "t"; the header must name a,t (in any order)`},
		{"repeated column", "a,t,a\n1,2,3\n", `f.csv:1:5: column "a" appears twice in the header`},
		{"not a number", "a,t\n1,2\nx1,2\n", `f.csv:3:1: a: "x1": must be a whole number`},
		{"a fraction", "a,t\n1.5,2\n", `f.csv:2:1: a: "1.5": must be a whole number`},
		{"negative", "a,t\n-4,2\n", `f.csv:2:1: a: "-4": must not be negative`},
		{"negative time", "t,a\n-4,2\n", `f.csv:2:1: t: "-4": must not be negative`},
		{"a time that is no number", "a,t\n1,soon\n", `f.csv:2:3: t: "soon": must be a number of seconds`},
		{"a time too far", "a,t\n1,99999999999999\n", `f.csv:2:3: t: 99999999999999 is out of range: at most 3153600000 seconds`},
		{"empty required", "a,t\n,2\n", `f.csv:2:1: a: empty: a value is required`},
		{"too many fields", "a,t\n1,2,3\n4,5\n", "f.csv:2: 3 fields, but the header names 2 columns"},
		{"too few fields", "a,t\n1\n", "f.csv:2: 1 fields, but the header names 2 columns"},
		{"bad quoting", "a,t\n1,\"2\n", `f.csv:2:6: extraneous or missing " in quoted-field`},
		{"all problems at once", "a,t\nx,2\n-1,2\n", "f.csv:2:1: a: \"x\": must be a whole number\nf.csv:3:1: a: \"-1\": must not be negative"},
		{"column of a later line", "t,x,a\n1,2,3\n1,\"p\nq\",x\n", `f.csv:4:4: a: "x": must be a whole number`},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := readAll(t, c.data)
			if err == nil || err.Error() != c.want {
				t.Errorf("error %v\nwant %s", err, c.want)
			}
		})
	}
}

package localcluster

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestTestServerTBTurnsFatalIntoAnError(t *testing.T) {
	for _, tc := range []struct {
		name     string
		call     func(tb *testServerTB)
		wantErr  string
		wantFail bool
	}{
		{"Fatalf", func(tb *testServerTB) { tb.Fatalf("no %s", "etcd") }, "kube-apiserver test server failed: no etcd", true},
		{"Fatal", func(tb *testServerTB) { tb.Fatal("no etcd") }, "kube-apiserver test server failed: no etcd", true},
		{"FailNow after Errorf", func(tb *testServerTB) { tb.Errorf("bad %s", "flag"); tb.FailNow() }, "kube-apiserver test server failed: bad flag", true},
		{"Skipf", func(tb *testServerTB) { tb.Skipf("not %s", "here") }, "kube-apiserver test server skipped: not here", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			tb := newTestServerTB(&out)
			returned := false
			err := tb.run(func() error {
				tc.call(tb)
				returned = true
				return nil
			})
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("run returned %v, want %q", err, tc.wantErr)
			}
			if returned {
				t.Errorf("the call went on after %s", tc.name)
			}
			if tb.Failed() != tc.wantFail {
				t.Errorf("Failed() = %v, want %v", tb.Failed(), tc.wantFail)
			}
			if msg := tc.wantErr[strings.LastIndex(tc.wantErr, ": ")+2:]; out.String() != msg+"\n" {
				t.Errorf("log %q, want the message %q", out.String(), msg)
			}
		})
	}
}

func TestTestServerTBPassesOtherErrorsAndPanicsThrough(t *testing.T) {
	tb := newTestServerTB(&bytes.Buffer{})
	want := errors.New("plain")
	if err := tb.run(func() error { return want }); err != want {
		t.Errorf("run returned %v, want %v", err, want)
	}
	defer func() {
		if r := recover(); r != "other" {
			t.Errorf("recovered %v, want the original panic", r)
		}
	}()
	_ = tb.run(func() error { panic("other") })
}

func TestTestServerTBRunsCleanupsLastInFirstOut(t *testing.T) {
	tb := newTestServerTB(&bytes.Buffer{})
	var order []int
	for i := 1; i <= 3; i++ {
		tb.Cleanup(func() { order = append(order, i) })
	}
	tb.runCleanups()
	tb.runCleanups() // once only
	if len(order) != 3 || order[0] != 3 || order[1] != 2 || order[2] != 1 {
		t.Errorf("cleanups ran in order %v, want [3 2 1]", order)
	}
}

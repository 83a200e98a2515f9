package harness

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
)

// processTB satisfies the testing.TB subset (ktesting.TB) that upstream's
// StartTestServer asks for, so the same upstream code runs the API server in tests and
// in cmd/berth-local alike. Logs go to the configured sink; a fatal error ends the
// calling goroutine the way testing.T.FailNow does, after recording it.
type processTB struct {
	out io.Writer

	mu       sync.Mutex
	failed   bool
	cleanups []func()
}

func newProcessTB(out io.Writer) *processTB {
	return &processTB{out: out}
}

func (t *processTB) log(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.out, format+"\n", args...)
}

func (t *processTB) Attr(key, value string)            {}
func (t *processTB) Chdir(dir string)                  { _ = os.Chdir(dir) }
func (t *processTB) Helper()                           {}
func (t *processTB) Name() string                      { return "berth-controlplane" }
func (t *processTB) Setenv(key, value string)          { _ = os.Setenv(key, value) }
func (t *processTB) Skipped() bool                     { return false }
func (t *processTB) Log(args ...any)                   { t.log("%s", fmt.Sprint(args...)) }
func (t *processTB) Logf(format string, args ...any)   { t.log(format, args...) }
func (t *processTB) Error(args ...any)                 { t.Log(args...); t.Fail() }
func (t *processTB) Errorf(format string, args ...any) { t.Logf(format, args...); t.Fail() }
func (t *processTB) Fatal(args ...any)                 { t.Log(args...); t.FailNow() }
func (t *processTB) Fatalf(format string, args ...any) { t.Logf(format, args...); t.FailNow() }
func (t *processTB) Skip(args ...any)                  { t.Log(args...); t.SkipNow() }
func (t *processTB) Skipf(format string, args ...any)  { t.Logf(format, args...); t.SkipNow() }
func (t *processTB) SkipNow()                          { runtime.Goexit() }
func (t *processTB) FailNow()                          { t.Fail(); runtime.Goexit() }

func (t *processTB) Fail() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = true
}

func (t *processTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *processTB) TempDir() string {
	dir, err := os.MkdirTemp("", "berth-tb-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (t *processTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// runCleanups runs registered cleanups last-in first-out, like testing.T.
func (t *processTB) runCleanups() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

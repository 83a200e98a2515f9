package localcluster

import (
	"fmt"
	"io"
	"os"
	"sync"

	"k8s.io/apiserver/pkg/storage/storagebackend"
	apiservertesting "k8s.io/kubernetes/cmd/kube-apiserver/app/testing"
)

// testServerTB adapts a running program to the testing.TB (ktesting.TB) that upstream's
// StartTestServer (k8s.io/kubernetes/cmd/kube-apiserver/app/testing) takes.
//
// Why it exists: StartTestServer is upstream's one function that configures a complete
// kube-apiserver from flags, starts it in this process and waits for it to be healthy;
// berth-local and the tests use it so that they run exactly upstream's server, not a copy
// of its start-up code. It asks for a testing.TB only to log, to register cleanups (the
// cancellation of the server's context) and to fail on a few setup errors. This adapter
// does those things outside a test:
//   - Log/Logf/Error/Errorf write to the cluster's log; Error marks the adapter failed;
//   - Cleanup collects functions that runCleanups calls last-in first-out, when the API
//     server instance is torn down (one adapter per instance);
//   - Fatal/FailNow/Skip/SkipNow make StartTestServer return an error: they panic with a
//     private value that run recovers, after StartTestServer's deferred teardown has
//     run. Upstream calls them only from the goroutine that called StartTestServer, as
//     testing.T requires; from any other goroutine the panic would end the program
//     with the message, rather than end that goroutine silently (runtime.Goexit, as
//     testing.T does) and leave the program waiting on it.
type testServerTB struct {
	out io.Writer

	mu       sync.Mutex
	last     string
	failed   bool
	cleanups []func()
}

func newTestServerTB(out io.Writer) *testServerTB {
	return &testServerTB{out: out}
}

// testServerAbort is what FailNow and SkipNow (and so Fatal and Skip) panic with.
type testServerAbort struct{ reason string }

// startTestServer runs upstream's StartTestServer with t as its TB.
func (t *testServerTB) startTestServer(opts *apiservertesting.TestServerInstanceOptions, flags []string, storage *storagebackend.Config) (server apiservertesting.TestServer, err error) {
	err = t.run(func() error {
		server, err = apiservertesting.StartTestServer(t, opts, flags, storage)
		return err
	})
	return server, err
}

// run calls f and turns a Fatal, FailNow, Skip or SkipNow during f into an error.
func (t *testServerTB) run(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			abort, ok := r.(testServerAbort)
			if !ok {
				panic(r)
			}
			err = fmt.Errorf("kube-apiserver test server %s: %s", abort.reason, t.lastLog())
		}
	}()
	return f()
}

func (t *testServerTB) log(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last = fmt.Sprintf(format, args...)
	fmt.Fprintln(t.out, t.last)
}

// lastLog is the last line logged, which for an abort is why.
func (t *testServerTB) lastLog() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

func (t *testServerTB) Attr(key, value string)            {}
func (t *testServerTB) Chdir(dir string)                  { _ = os.Chdir(dir) }
func (t *testServerTB) Helper()                           {}
func (t *testServerTB) Name() string                      { return "berth-controlplane" }
func (t *testServerTB) Setenv(key, value string)          { _ = os.Setenv(key, value) }
func (t *testServerTB) Skipped() bool                     { return false }
func (t *testServerTB) Log(args ...any)                   { t.log("%s", fmt.Sprint(args...)) }
func (t *testServerTB) Logf(format string, args ...any)   { t.log(format, args...) }
func (t *testServerTB) Error(args ...any)                 { t.Log(args...); t.Fail() }
func (t *testServerTB) Errorf(format string, args ...any) { t.Logf(format, args...); t.Fail() }
func (t *testServerTB) Fatal(args ...any)                 { t.Log(args...); t.FailNow() }
func (t *testServerTB) Fatalf(format string, args ...any) { t.Logf(format, args...); t.FailNow() }
func (t *testServerTB) Skip(args ...any)                  { t.Log(args...); t.SkipNow() }
func (t *testServerTB) Skipf(format string, args ...any)  { t.Logf(format, args...); t.SkipNow() }
func (t *testServerTB) SkipNow()                          { panic(testServerAbort{reason: "skipped"}) }
func (t *testServerTB) FailNow()                          { t.Fail(); panic(testServerAbort{reason: "failed"}) }

func (t *testServerTB) Fail() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.failed = true
}

func (t *testServerTB) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.failed
}

func (t *testServerTB) TempDir() string {
	dir, err := os.MkdirTemp("", "berth-tb-")
	if err != nil {
		t.Fatalf("temp dir: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func (t *testServerTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// runCleanups runs registered cleanups last-in first-out, like testing.T.
func (t *testServerTB) runCleanups() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

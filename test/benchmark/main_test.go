//go:build benchmark

// Package benchmark measures the whole scheduler, berth's recommended profile against
// upstream's default profile, with upstream's own scheduler_perf harness
// (k8s.io/kubernetes/test/integration/scheduler_perf): the same workloads, the same API
// server, the same metrics and data items that upstream publishes, and berth's plugins
// passed in through RunBenchmarkPerfScheduling's out-of-tree registry. Both profiles
// run in one process, one after the other for each test case, so their ratio is
// meaningful on a shared machine.
//
// The build tag keeps it out of `go test ./...`:
//
//	go test -tags benchmark -timeout 60m -run '^$' -bench . -benchtime 1x ./test/benchmark/ -args -data-items-dir=/tmp/berth-scheduler-perf
//
// See docs/benchmarks.md.
package benchmark

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "k8s.io/component-base/logs/json/register" // -logging-format=json, as upstream's scheduler_perf packages offer
	perf "k8s.io/kubernetes/test/integration/scheduler_perf"

	"github.com/berth-sched/berth/internal/localcluster"
)

// etcdName is the name the upstream harness looks up in PATH (test/integration/
// framework/etcd.go): every workload starts a fresh etcd by running it. There is no etcd
// binary on berth's machines, so TestMain links this test binary under that name; run
// as "etcd" it serves an embedded etcd (localcluster.StartEtcd) with the flags upstream gives.
const etcdName = "etcd"

var (
	// profiles are filled in by TestMain: upstream's default profile and berth's
	// recommended one, both named default-scheduler, the name scheduler_perf's pods
	// and its throughput metrics use.
	profiles []profile
	// workDir holds the rendered configurations and the etcd link; removed at exit.
	workDir string
	// schedulerPerfDir is upstream's scheduler_perf directory in the module cache; it
	// replaces ${SCHEDULER_PERF} in config/performance-config.yaml.
	schedulerPerfDir string
)

func TestMain(m *testing.M) {
	if filepath.Base(os.Args[0]) == etcdName {
		os.Exit(runEtcd(os.Args[1:]))
	}
	// As upstream's scheduler_perf TestMains do: logging and scheduler_perf's flags.
	if err := perf.InitTests(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "benchmark setup:", err)
		os.RemoveAll(workDir)
		os.Exit(1)
	}
	start := time.Now()
	code := m.Run()
	if err := summarize(start); err != nil {
		fmt.Fprintln(os.Stderr, "benchmark summary:", err)
		code = 1
	}
	os.RemoveAll(workDir)
	os.Exit(code)
}

func setup() error {
	var err error
	if workDir, err = os.MkdirTemp("", "berth-scheduler-perf-"); err != nil {
		return err
	}

	// The etcd every workload starts is this binary.
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin := filepath.Join(workDir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		return err
	}
	if err := os.Symlink(self, filepath.Join(bin, etcdName)); err != nil {
		return err
	}
	if err := os.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH")); err != nil {
		return err
	}

	// Upstream's templates, from the kubernetes module this build uses.
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "k8s.io/kubernetes").Output()
	if err != nil {
		return fmt.Errorf("locate the k8s.io/kubernetes module (go list -m): %w", err)
	}
	schedulerPerfDir = filepath.Join(strings.TrimSpace(string(out)), "test", "integration", "scheduler_perf")
	if _, err := os.Stat(filepath.Join(schedulerPerfDir, "templates")); err != nil {
		return fmt.Errorf("upstream scheduler_perf templates: %w", err)
	}

	// Data items (JSON, .dat) go to -data-items-dir; by default a directory that
	// outlives the run rather than the package directory.
	dataItems := flag.Lookup("data-items-dir")
	if dataItems == nil {
		return fmt.Errorf("scheduler_perf has no -data-items-dir flag")
	}
	if dataItems.Value.String() == "" {
		if err := dataItems.Value.Set(filepath.Join(os.TempDir(), "berth-scheduler-perf")); err != nil {
			return err
		}
	}
	// With ARTIFACTS set, scheduler_perf writes each workload's log (the API server's
	// and scheduler's, at -v=2) to $ARTIFACTS/<benchmark>.log and deletes it if the
	// workload passed, instead of flooding the output; upstream's README runs it so.
	if _, ok := os.LookupEnv("ARTIFACTS"); !ok {
		if err := os.Setenv("ARTIFACTS", dataItems.Value.String()); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(dataItems.Value.String(), 0o755); err != nil {
		return err
	}

	profiles, err = standardProfiles()
	return err
}

// runEtcd is this binary run as etcd by upstream's framework.RunCustomEtcd: it serves
// clients on the unix socket upstream passes and stops on SIGTERM.
func runEtcd(args []string) int {
	fs := flag.NewFlagSet(etcdName, flag.ContinueOnError)
	dataDir := fs.String("data-dir", "", "data directory")
	clientURL := fs.String("listen-client-urls", "", "client URL")
	// Passed by upstream; the embedded etcd picks its own peer port and keeps its
	// default quota, which these workloads stay far below.
	fs.String("advertise-client-urls", "", "ignored")
	fs.String("listen-peer-urls", "", "ignored")
	fs.String("log-level", "", "ignored: etcd logs warnings to etcd.log in the data directory")
	fs.String("quota-backend-bytes", "", "ignored")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *dataDir == "" || *clientURL == "" || strings.Contains(*clientURL, ",") {
		fmt.Fprintf(os.Stderr, "etcd (berth benchmark): need --data-dir and one --listen-client-urls, got %q\n", args)
		return 2
	}
	ctx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stopSignals()
	_, stop, err := localcluster.StartEtcd(*dataDir, *clientURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcd (berth benchmark):", err)
		return 1
	}
	defer stop()
	// Upstream stops etcd with SIGTERM; should the benchmark die without doing so, its
	// etcd must not outlive it on a shared machine.
	parent := os.Getppid()
	orphaned := time.NewTicker(time.Second)
	defer orphaned.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-orphaned.C:
			if os.Getppid() != parent {
				return 1
			}
		}
	}
}

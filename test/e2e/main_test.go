// Package e2e drives the berth-scheduler binary, as its own process, against the real
// control plane of test/harness. One control plane serves the whole package.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/test/harness"
)

var (
	cp         *harness.ControlPlane
	kubeconfig string
	binary     string
	workDir    string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	if binary, err = schedulerBinary(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	workDir, err = os.MkdirTemp("", "berth-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer func() {
		if os.Getenv("BERTH_KEEP_WORKDIR") == "" {
			os.RemoveAll(workDir)
		}
	}()

	logFile, err := os.Create(filepath.Join(workDir, "controlplane.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer logFile.Close()
	cp, err = harness.Start(harness.Options{LogOutput: logFile, SimulateNodes: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: control plane:", err)
		return 1
	}
	defer cp.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopNodes, err := harness.StartNodeSimulator(ctx, cp.Config)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: node simulator:", err)
		return 1
	}
	defer stopNodes()
	if err := harness.EnsureNamespace(context.Background(), cp.Client, manifests.LeaseNamespace); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	kubeconfig = filepath.Join(workDir, "kubeconfig")
	if err := cp.WriteKubeconfig(kubeconfig); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	code := m.Run()
	if code != 0 {
		fmt.Fprintf(os.Stderr, "e2e: tests failed; control plane log: %s\n", logFile.Name())
		os.Setenv("BERTH_KEEP_WORKDIR", "1")
	}
	return code
}

// schedulerBinary is $BERTH_SCHEDULER (make test sets it), or bin/berth-scheduler built
// by `make build-scheduler` so the version flags match the release build.
func schedulerBinary() (string, error) {
	if b := os.Getenv("BERTH_SCHEDULER"); b != "" {
		return b, nil
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cmd := exec.Command("make", "-s", "-C", root, "build-scheduler")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build berth-scheduler: %w", err)
	}
	return filepath.Join(root, "bin", "berth-scheduler"), nil
}

// startScheduler runs the binary with berth's recommended configuration, changed by
// mutate, and stops it when the test ends.
func startScheduler(t *testing.T, mutate func(*harness.SchedulerConfig), args ...string) *harness.SchedulerProcess {
	t.Helper()
	dir := t.TempDir()
	cfg, err := harness.RenderSchedulerConfig(manifests.SchedulerConfig, dir, kubeconfig, mutate)
	if err != nil {
		t.Fatal(err)
	}
	p, err := harness.StartScheduler(binary, cfg, kubeconfig, dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(10 * time.Second)
		if t.Failed() {
			t.Logf("berth-scheduler log:\n%s", p.Log())
		}
	})
	return p
}

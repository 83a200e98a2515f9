// Package e2e drives the berth-scheduler binary, as its own process, against the real
// control plane of internal/localcluster. One cluster serves the whole package.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/test/harness"
)

var (
	// cp is the package's cluster, with simulated nodes and the lease namespace.
	cp *localcluster.Cluster
	// binary is the berth-scheduler under test.
	binary string
)

func TestMain(m *testing.M) {
	var err error
	if binary, err = harness.SchedulerBinary(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(harness.RunTests(m, "e2e", localcluster.Options{SimulateNodes: true}, func(c *localcluster.Cluster) error {
		cp = c
		return c.EnsureNamespace(context.Background(), manifests.LeaseNamespace)
	}))
}

// startScheduler runs the binary with berth's recommended configuration, changed by
// mutate, against the package's cluster as its admin, and stops it when the test ends.
func startScheduler(t *testing.T, mutate func(*localcluster.SchedulerConfig), args ...string) *localcluster.SchedulerProcess {
	t.Helper()
	return startSchedulerWith(t, binary, cp.Kubeconfig(), mutate, args...)
}

// startSchedulerWith runs bin with berth's recommended configuration, changed by mutate
// and reaching the API server through kubeconfig, and stops it when the test ends,
// logging its output if the test failed. args are passed on (they may name another
// identity for the secure port's delegated authentication; see RunScheduler).
func startSchedulerWith(t *testing.T, bin, kubeconfig string, mutate func(*localcluster.SchedulerConfig), args ...string) *localcluster.SchedulerProcess {
	t.Helper()
	cfg, err := localcluster.RenderSchedulerConfig(manifests.SchedulerConfig, t.TempDir(), kubeconfig, mutate)
	if err != nil {
		t.Fatal(err)
	}
	return runScheduler(t, bin, cfg, args...)
}

// runScheduler starts bin with --config=configPath against the package's cluster (see
// localcluster.RunScheduler) and stops it when the test ends, logging its output if the
// test failed.
func runScheduler(t *testing.T, bin, configPath string, args ...string) *localcluster.SchedulerProcess {
	t.Helper()
	p, err := cp.RunScheduler(bin, configPath, args...)
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

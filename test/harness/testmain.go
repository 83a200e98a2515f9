package harness

import (
	"fmt"
	"os"
	"testing"

	"github.com/berth-sched/berth/internal/localcluster"
)

// KeepDirEnv names the environment variable that, when set, keeps a test package's
// cluster directory (kubeconfig, control plane and scheduler logs) after a passing run
// too; after a failing one it is always kept.
const KeepDirEnv = "BERTH_KEEP_WORKDIR"

// RunTests is a TestMain for packages that share one cluster: it starts the cluster
// with opts in a new temporary directory named after pkg, calls setup (may be nil) with
// it, runs the tests, stops the cluster and returns the exit code for os.Exit. The
// directory is removed after a passing run, and kept (and named on stderr) otherwise.
func RunTests(m *testing.M, pkg string, opts localcluster.Options, setup func(*localcluster.Cluster) error) (code int) {
	dir, err := os.MkdirTemp("", "berth-"+pkg+"-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", pkg, err)
		return 1
	}
	defer func() {
		if code == 0 && os.Getenv(KeepDirEnv) == "" {
			os.RemoveAll(dir)
		} else {
			fmt.Fprintf(os.Stderr, "%s: cluster logs kept in %s\n", pkg, dir)
		}
	}()
	opts.Dir = dir
	c, err := localcluster.Start(opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: local cluster: %v\n", pkg, err)
		return 1
	}
	defer c.Stop()
	if setup != nil {
		if err := setup(c); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", pkg, err)
			return 1
		}
	}
	return m.Run()
}

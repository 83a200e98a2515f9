package sim

import (
	"os"
	"testing"

	"github.com/berth-sched/berth/pkg/plugins"
)

// TestMain lets the test binary serve as RunParallel's worker, as berth-sim's own
// executable does.
func TestMain(m *testing.M) {
	if os.Getenv(WorkerEnv) == "1" {
		os.Exit(WorkerMain(plugins.Registry()))
	}
	os.Exit(m.Run())
}

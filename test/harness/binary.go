package harness

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
)

// SchedulerBinaryEnv names the environment variable that gives the berth-scheduler
// binary tests run as a process; `make test` sets it to the one it just built.
const SchedulerBinaryEnv = "BERTH_SCHEDULER"

// SchedulerBinary is $BERTH_SCHEDULER, or bin/berth-scheduler built by `make
// build-scheduler` so that tests run the binary as it ships (static, release flags).
func SchedulerBinary() (string, error) {
	if b := os.Getenv(SchedulerBinaryEnv); b != "" {
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

package sim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/berth-sched/berth/internal/sim/workload"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
)

// Job is one run of a comparison: a configuration (with its sweep settings already
// applied) replayed over the comparison's workload with a seed.
type Job struct {
	Name    string `json:"name"`
	Config  []byte `json:"config"`
	Seed    int64  `json:"seed"`
	Explain string `json:"explain,omitempty"`
}

// workerInput is what a worker reads on stdin.
type workerInput struct {
	Job      Job                `json:"job"`
	Workload *workload.Workload `json:"workload"`
}

// Runs execute in worker processes, one run per process: a run seeds math/rand's
// global source and sets feature gates, which are process-wide, so runs sharing a
// process could not each be deterministic. A worker is this program started again
// (ParallelOptions.Command); it reads its job and the workload as JSON on stdin, writes
// the Result as JSON on stdout and its progress on file descriptor 3.

// WorkerEnv is set in a worker's environment; a program's main (or TestMain) calls
// WorkerMain when it finds it set.
const WorkerEnv = "BERTH_SIM_WORKER"

// ParallelOptions tune RunParallel.
type ParallelOptions struct {
	// Parallel is the number of worker processes at a time (at least 1).
	Parallel int
	// Command returns the command that starts a worker; nil means this executable
	// again (os.Executable).
	Command func() (*exec.Cmd, error)
	// Progress, if set, is called with the number of the workload's pods that have
	// arrived in all runs together, out of total (pods × runs), as workers report it.
	Progress func(done, total int)
}

// RunParallel replays w once per job, Parallel jobs at a time, and returns the results
// in job order. The workload is encoded once and handed to every worker. The first
// failing job cancels the others and is the error, naming the job.
func RunParallel(ctx context.Context, w *workload.Workload, jobs []Job, o ParallelOptions) ([]*Result, error) {
	if o.Parallel < 1 {
		o.Parallel = 1
	}
	wl, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]*Result, len(jobs))
	errs := make([]error, len(jobs))
	var mu sync.Mutex
	done := make([]int, len(jobs))
	report := func(i, n int) {
		if o.Progress == nil {
			return
		}
		mu.Lock()
		done[i] = n
		sum := 0
		for _, d := range done {
			sum += d
		}
		mu.Unlock()
		o.Progress(sum, len(w.Pods)*len(jobs))
	}
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for i := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			results[i], errs[i] = runWorker(ctx, jobs[i], wl, o, func(n int) { report(i, n) })
			if errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	// The first real failure, not the cancellations it caused.
	for i, err := range errs {
		if err != nil && !errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("run %s: %w", jobs[i].Name, err)
		}
	}
	for i, err := range errs {
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", jobs[i].Name, err)
		}
	}
	return results, nil
}

func runWorker(ctx context.Context, job Job, wl []byte, o ParallelOptions, progress func(int)) (*Result, error) {
	var cmd *exec.Cmd
	var err error
	if o.Command != nil {
		cmd, err = o.Command()
	} else {
		var self string
		if self, err = os.Executable(); err == nil {
			cmd = exec.Command(self)
		}
	}
	if err != nil {
		return nil, err
	}
	in, err := json.Marshal(struct {
		Job      Job             `json:"job"`
		Workload json.RawMessage `json:"workload"`
	}{job, wl})
	if err != nil {
		return nil, err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer pr.Close()
	var stdout, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &stdout, &stderr
	cmd.ExtraFiles = []*os.File{pw}
	// GODEBUG: math/rand's Seed is a no-op without it (Go 1.24+).
	cmd.Env = append(os.Environ(), WorkerEnv+"=1", "GODEBUG=randseednop=0")
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, err
	}
	pw.Close()
	go func() {
		s := bufio.NewScanner(pr)
		for s.Scan() {
			if n, err := strconv.Atoi(s.Text()); err == nil {
				progress(n)
			}
		}
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		<-waited
		return nil, ctx.Err()
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndexByte(msg, '\n'); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, fmt.Errorf("worker failed (%v): %s", err, msg)
	}
	var r Result
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return nil, fmt.Errorf("reading the worker's result: %w", err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.PeakRSSBytes = ru.Maxrss * 1024 // Linux reports kilobytes
	}
	r.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return &r, nil
}

// WorkerMain is a worker process: it reads one job from stdin, runs it and writes the
// result to stdout, progress to file descriptor 3 (if open). It returns the exit code.
func WorkerMain(registry frameworkruntime.Registry) int {
	// A run allocates steadily and keeps its live heap small next to what it churns
	// through; collecting a quarter as often cuts the collector's share of the run's
	// CPU by about two thirds (measured on BenchmarkReplay) for a larger peak heap.
	debug.SetGCPercent(400)
	if err := worker(os.Stdin, os.Stdout, registry); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func worker(stdin io.Reader, stdout io.Writer, registry frameworkruntime.Registry) error {
	var in workerInput
	if err := json.NewDecoder(stdin).Decode(&in); err != nil {
		return fmt.Errorf("reading the job: %w", err)
	}
	cfg, err := LoadConfig(in.Job.Config)
	if err != nil {
		return err
	}
	opts := Options{Registry: registry, Seed: in.Job.Seed, Explain: in.Job.Explain}
	if f := os.NewFile(3, "progress"); f != nil && os.Getenv(WorkerEnv) == "1" {
		defer f.Close()
		opts.Progress = func(n int) { fmt.Fprintln(f, n) }
	}
	res, err := Run(context.Background(), in.Workload, cfg, opts)
	if err != nil {
		return err
	}
	return json.NewEncoder(stdout).Encode(res)
}

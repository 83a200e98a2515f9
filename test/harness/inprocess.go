package harness

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/component-base/configz"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/cmd/kube-scheduler/app/options"
)

// InProcessScheduler is the upstream kube-scheduler command's Setup and Run, in this
// process, with berth's registry: what the berth-scheduler binary runs, minus the
// process boundary, so integration tests start in a moment and share one link.
type InProcessScheduler struct {
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// inProcessMu serialises in-process schedulers: kube-scheduler keeps process-wide state
// (configz, metrics), so one runs at a time.
var inProcessMu sync.Mutex

// StartInProcess runs a scheduler configured by the KubeSchedulerConfiguration file
// configPath, with registryOptions (berth's plugins). Its secure port is off. Stop it
// with Stop before starting another.
func StartInProcess(ctx context.Context, configPath string, registryOptions ...app.Option) (*InProcessScheduler, error) {
	inProcessMu.Lock()
	opts := options.NewOptions()
	opts.ConfigFile = configPath
	opts.SecureServing.BindPort = 0
	if err := opts.ComponentGlobalsRegistry.Set(); err != nil {
		inProcessMu.Unlock()
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	cc, sched, err := app.Setup(ctx, opts, registryOptions...)
	if err != nil {
		cancel()
		inProcessMu.Unlock()
		return nil, fmt.Errorf("scheduler setup: %w", err)
	}
	s := &InProcessScheduler{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer inProcessMu.Unlock()
		// app.Run registers the configuration under configz and returns an error if the
		// name is taken: release it for the next scheduler of this process.
		defer configz.Delete("componentconfig")
		s.err = app.Run(ctx, cc, sched)
	}()
	return s, nil
}

// Stop ends the scheduler and waits for it.
func (s *InProcessScheduler) Stop() {
	s.cancel()
	<-s.done
}

// Package plugins is berth's plugin library: every berth framework plugin, registered
// from one place so that berth-scheduler and any other out-of-tree scheduler build can
// enable them the same way.
package plugins

import (
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/berth-sched/berth/pkg/plugins/priorityheadroom"
	"github.com/berth-sched/berth/pkg/plugins/priorityplacement"
	"github.com/berth-sched/berth/pkg/plugins/priorityqossort"
	"github.com/berth-sched/berth/pkg/plugins/prioritytaints"
	"github.com/berth-sched/berth/pkg/plugins/qosawarepreemption"
	"github.com/berth-sched/berth/pkg/plugins/qosplacement"
)

// Registry returns the factories of all berth plugins, keyed by plugin name. The map is
// new on every call, so callers may add to it.
func Registry() frameworkruntime.Registry {
	return frameworkruntime.Registry{
		priorityqossort.Name:    priorityqossort.New,
		priorityheadroom.Name:   priorityheadroom.New,
		qosawarepreemption.Name: qosawarepreemption.New,
		priorityplacement.Name:  priorityplacement.New,
		prioritytaints.Name:     prioritytaints.New,
		qosplacement.Name:       qosplacement.New,
	}
}

// SchedulerOptions turns Registry into options for app.NewSchedulerCommand and app.Setup.
func SchedulerOptions() []app.Option {
	var opts []app.Option
	for name, factory := range Registry() {
		opts = append(opts, app.WithPlugin(name, factory))
	}
	return opts
}

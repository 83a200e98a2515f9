// Package plugins is berth's plugin library: every berth framework plugin, registered
// from one place so that berth-scheduler and any other out-of-tree scheduler build can
// enable them the same way.
package plugins

import (
	"context"

	"k8s.io/apimachinery/pkg/runtime"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	plfeature "k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
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
//
// Plugins that depend on feature gates take them as upstream's in-tree plugins do
// (New(ctx, args, handle, fts)), and each factory reads the process's gates
// (utilfeature.DefaultFeatureGate) when the framework calls it, not when Registry is
// called: berth-scheduler builds its registry before cobra has parsed
// --feature-gates, while upstream builds its in-tree registry after, inside
// scheduler.New. Reading at call time gives berth's plugins the gates the command line
// set, the same ones upstream's plugins in the profile see.
func Registry() frameworkruntime.Registry {
	return newRegistry(func(f frameworkruntime.PluginFactoryWithFts[fwk.Plugin]) frameworkruntime.PluginFactory {
		return func(ctx context.Context, obj runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
			return frameworkruntime.FactoryAdapter(plfeature.NewSchedulerFeaturesFromGates(utilfeature.DefaultFeatureGate), f)(ctx, obj, h)
		}
	})
}

// RegistryWithFeatures is Registry with the features fixed by the caller, for builds
// and simulators that choose them instead of reading the process's feature gates: each
// factory is wrapped with frameworkruntime.FactoryAdapter, exactly as upstream's
// NewInTreeRegistry does.
func RegistryWithFeatures(fts plfeature.Features) frameworkruntime.Registry {
	return newRegistry(func(f frameworkruntime.PluginFactoryWithFts[fwk.Plugin]) frameworkruntime.PluginFactory {
		return frameworkruntime.FactoryAdapter(fts, f)
	})
}

// newRegistry lists the plugins once; adapt turns a factory that takes features into a
// framework factory.
func newRegistry(adapt func(frameworkruntime.PluginFactoryWithFts[fwk.Plugin]) frameworkruntime.PluginFactory) frameworkruntime.Registry {
	return frameworkruntime.Registry{
		priorityqossort.Name:    priorityqossort.New,
		priorityheadroom.Name:   adapt(priorityheadroom.New),
		qosawarepreemption.Name: adapt(qosawarepreemption.New),
		priorityplacement.Name:  priorityplacement.New,
		prioritytaints.Name:     adapt(prioritytaints.New),
		qosplacement.Name:       adapt(qosplacement.New),
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

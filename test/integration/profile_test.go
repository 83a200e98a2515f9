package integration

import (
	"encoding/json"
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	configv1 "k8s.io/kube-scheduler/config/v1"
	"sigs.k8s.io/yaml"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/manifests"
)

// ExtensionPoint names where withPlugin enables a plugin.
type ExtensionPoint string

const (
	QueueSort  ExtensionPoint = "queueSort"
	PreFilter  ExtensionPoint = "preFilter"
	Filter     ExtensionPoint = "filter"
	PostFilter ExtensionPoint = "postFilter"
	PreScore   ExtensionPoint = "preScore"
	Score      ExtensionPoint = "score"
)

// withPlugin enables plugin name at the given extension points of berth's profile and
// sets its args (nil keeps the defaults; otherwise any value that marshals to the args'
// JSON). Enabling a QueueSort plugin disables upstream's PrioritySort, the only other
// QueueSort, and enabling a PostFilter plugin disables DefaultPreemption.
func withPlugin(name string, args any, points ...ExtensionPoint) func(*localcluster.SchedulerConfig) {
	return func(c *localcluster.SchedulerConfig) {
		p := &c.Profiles[0]
		if p.Plugins == nil {
			p.Plugins = &configv1.Plugins{}
		}
		for _, point := range points {
			set := pluginSet(p.Plugins, point)
			set.Enabled = append(set.Enabled, configv1.Plugin{Name: name})
			switch point {
			case QueueSort:
				set.Disabled = append(set.Disabled, configv1.Plugin{Name: "PrioritySort"})
			case PostFilter:
				set.Disabled = append(set.Disabled, configv1.Plugin{Name: "DefaultPreemption"})
			}
		}
		if args != nil {
			raw, err := json.Marshal(args)
			if err != nil {
				panic(fmt.Sprintf("args of %s do not marshal: %v", name, err)) // a bug in the test itself
			}
			p.PluginConfig = append(p.PluginConfig, configv1.PluginConfig{Name: name, Args: runtime.RawExtension{Raw: raw}})
		}
	}
}

func pluginSet(p *configv1.Plugins, point ExtensionPoint) *configv1.PluginSet {
	switch point {
	case QueueSort:
		return &p.QueueSort
	case PreFilter:
		return &p.PreFilter
	case Filter:
		return &p.Filter
	case PostFilter:
		return &p.PostFilter
	case PreScore:
		return &p.PreScore
	case Score:
		return &p.Score
	}
	panic("unknown extension point " + string(point))
}

// all applies several profile changes in order.
func all(mutations ...func(*localcluster.SchedulerConfig)) func(*localcluster.SchedulerConfig) {
	return func(c *localcluster.SchedulerConfig) {
		for _, m := range mutations {
			m(c)
		}
	}
}

// recommendedProfile puts back the profile of manifests/base/scheduler-config.yaml:
// every berth plugin with the shipped arguments.
func recommendedProfile(c *localcluster.SchedulerConfig) {
	var shipped localcluster.SchedulerConfig
	if err := yaml.UnmarshalStrict(manifests.SchedulerConfig, &shipped); err != nil {
		panic(fmt.Sprintf("shipped scheduler configuration: %v", err)) // covered by e2e tests too
	}
	c.Profiles[0].Plugins = shipped.Profiles[0].Plugins
	c.Profiles[0].PluginConfig = shipped.Profiles[0].PluginConfig
}

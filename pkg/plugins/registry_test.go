package plugins

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	featuregatetesting "k8s.io/component-base/featuregate/testing"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"
	"k8s.io/kubernetes/pkg/features"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	plfeature "k8s.io/kubernetes/pkg/scheduler/framework/plugins/feature"
	plugintesting "k8s.io/kubernetes/pkg/scheduler/framework/plugins/testing"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/berth-sched/berth/pkg/plugins/priorityheadroom"
	"github.com/berth-sched/berth/pkg/plugins/priorityplacement"
	"github.com/berth-sched/berth/pkg/plugins/priorityqossort"
	"github.com/berth-sched/berth/pkg/plugins/prioritytaints"
	"github.com/berth-sched/berth/pkg/plugins/qosawarepreemption"
	"github.com/berth-sched/berth/pkg/plugins/qosplacement"
)

// comparisonOperatorsReachPriorityTaints builds PriorityTaints from the registry's
// factory and reports whether the plugin honours a Gt toleration, which it does only
// when the TaintTolerationComparisonOperators gate reached it: a low-priority pod that
// tolerates a reserved taint through Gt is then rejected.
func comparisonOperatorsReachPriorityTaints(t *testing.T, reg frameworkruntime.Registry) bool {
	t.Helper()
	_, ctx := ktesting.NewTestContext(t)
	args := &runtime.Unknown{Raw: []byte(`{"rules": [{"key": "berth.io/tier", "minPriority": 1000}]}`), ContentType: runtime.ContentTypeJSON}
	p, err := reg[prioritytaints.Name](ctx, args, nil)
	if err != nil {
		t.Fatal(err)
	}
	pl := p.(*prioritytaints.PriorityTaints)
	pod := st.MakePod().Name("p").Priority(0).Obj()
	pod.Spec.Tolerations = []v1.Toleration{{Key: "berth.io/tier", Operator: v1.TolerationOpGt, Value: "3"}}
	ni := framework.NewNodeInfo()
	ni.SetNode(st.MakeNode().Name("n").Taints([]v1.Taint{{Key: "berth.io/tier", Value: "5", Effect: v1.TaintEffectNoSchedule}}).Obj())
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() {
		t.Fatal(s)
	}
	return !pl.Filter(ctx, cs, pod, ni).IsSuccess()
}

func TestRegistryHasEveryPlugin(t *testing.T) {
	want := []string{priorityheadroom.Name, priorityplacement.Name, priorityqossort.Name,
		prioritytaints.Name, qosawarepreemption.Name, qosplacement.Name}
	slices.Sort(want)
	for name, reg := range map[string]frameworkruntime.Registry{
		"Registry":             Registry(),
		"RegistryWithFeatures": RegistryWithFeatures(plfeature.Features{}),
	} {
		if got := slices.Sorted(maps.Keys(reg)); !slices.Equal(got, want) {
			t.Errorf("%s has %v, want %v", name, got, want)
		}
	}
	if got := len(SchedulerOptions()); got != len(want) {
		t.Errorf("SchedulerOptions has %d options, want %d", got, len(want))
	}
}

// TestRegistryReadsFeatureGatesWhenAPluginIsBuilt: berth-scheduler calls Registry
// before the command line is parsed, so a gate set by --feature-gates afterwards must
// still reach the plugins.
func TestRegistryReadsFeatureGatesWhenAPluginIsBuilt(t *testing.T) {
	for _, enabled := range []bool{true, false} {
		reg := Registry()
		featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.TaintTolerationComparisonOperators, enabled)
		if got := comparisonOperatorsReachPriorityTaints(t, reg); got != enabled {
			t.Errorf("gate set to %v after Registry(): the plugin honours comparison operators = %v", enabled, got)
		}
	}
}

func TestRegistryWithFeaturesIgnoresTheProcessGates(t *testing.T) {
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.TaintTolerationComparisonOperators, false)
	if !comparisonOperatorsReachPriorityTaints(t, RegistryWithFeatures(plfeature.Features{EnableTaintTolerationComparisonOperators: true})) {
		t.Error("RegistryWithFeatures(comparison operators on) built a plugin without them")
	}
}

// TestSchedulerCommandHandsFeatureGatesFlagToPlugins builds the command as
// berth-scheduler's main does, parses --feature-gates through it (kube-scheduler sets
// the gates in its PersistentPreRunE), and builds PriorityTaints from the registry the
// options fill, as app.Setup does: the flag, parsed after SchedulerOptions() ran,
// reaches the plugin.
func TestSchedulerCommandHandsFeatureGatesFlagToPlugins(t *testing.T) {
	// Restores the gate after the command has set it.
	featuregatetesting.SetFeatureGateDuringTest(t, utilfeature.DefaultFeatureGate, features.TaintTolerationComparisonOperators, false)
	opts := SchedulerOptions() // before the flags are parsed, as in main
	cmd := app.NewSchedulerCommand(opts...)
	var honoured bool
	cmd.RunE = func(*cobra.Command, []string) error {
		reg := frameworkruntime.Registry{}
		for _, opt := range opts {
			if err := opt(reg); err != nil {
				return err
			}
		}
		honoured = comparisonOperatorsReachPriorityTaints(t, reg)
		return nil
	}
	cmd.SetArgs([]string{"--feature-gates=TaintTolerationComparisonOperators=true"})
	cmd.SetContext(context.Background())
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !honoured {
		t.Error("--feature-gates=TaintTolerationComparisonOperators=true did not reach PriorityTaints")
	}
}

// TestSignerNamesFollowUpstreamsForm: every berth sign fragment is keyed as upstream's
// are (k8s.io/kube-scheduler/framework, signers.go): "v1.Pod.", the pod field it comes
// from, and "()" where the plugin derives a value. The framework merges all plugins'
// fragments into one signature by key, so a key must be upstream's own (same value,
// e.g. the tolerations) or belong to one berth plugin: two plugins sharing a key would
// overwrite each other's fragment.
func TestSignerNamesFollowUpstreamsForm(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	upstream := map[string]bool{}
	for _, k := range []string{fwk.DynamicResourcesSignerName, fwk.ImageNamesSignerName, fwk.LabelsSignerName,
		fwk.NodeNameSignerName, fwk.NodeAffinitySignerName, fwk.NodeSelectorSignerName, fwk.HostPortsSignerName,
		fwk.ResourcesSignerName, fwk.SchedulerNameSignerName, fwk.TolerationsSignerName, fwk.VolumesSignerName,
		fwk.FeaturesSignerName} {
		upstream[k] = true
	}
	reg := RegistryWithFeatures(plfeature.Features{})
	args := map[string]string{
		priorityheadroom.Name: `{"reservations": [{"belowPriority": 1000, "reservePercent": {"cpu": 25}}]}`,
		prioritytaints.Name:   `{"rules": [{"key": "berth.io/reserved", "minPriority": 1000}]}`,
	}
	pod := st.MakePod().Name("p").Priority(0).Req(map[v1.ResourceName]string{v1.ResourceCPU: "1", v1.ResourceMemory: "1Gi"}).Obj()
	owner := map[string]string{}
	for _, name := range []string{priorityheadroom.Name, priorityplacement.Name, prioritytaints.Name, qosplacement.Name} {
		var obj runtime.Object
		if a, ok := args[name]; ok {
			obj = &runtime.Unknown{Raw: []byte(a), ContentType: runtime.ContentTypeJSON}
		}
		pl := plugintesting.SetupPlugin(ctx, t, reg[name], obj, cache.NewEmptySnapshot())
		fragments, s := pl.(fwk.SignPlugin).SignPod(ctx, pod)
		if !s.IsSuccess() {
			t.Fatalf("%s: SignPod = %v", name, s)
		}
		for _, f := range fragments {
			switch {
			case upstream[f.Key]:
			case !strings.HasPrefix(f.Key, "v1.Pod."):
				t.Errorf("%s signs %q: want upstream's form, v1.Pod.<field>[.<Derived>()]", name, f.Key)
			case owner[f.Key] != "" && owner[f.Key] != name:
				t.Errorf("%s and %s both sign %q", owner[f.Key], name, f.Key)
			default:
				owner[f.Key] = name
			}
		}
	}
	if len(owner) != 7 {
		t.Errorf("berth's own keys %v: want the seven the four plugins sign for this pod", owner)
	}
}

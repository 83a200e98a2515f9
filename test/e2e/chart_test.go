package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/cli/values"
	"helm.sh/helm/v3/pkg/getter"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	configv1 "k8s.io/kube-scheduler/config/v1"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
	schedscheme "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"
	schedvalidation "k8s.io/kubernetes/pkg/scheduler/apis/config/validation"
	"sigs.k8s.io/yaml"

	"github.com/berth-sched/berth/internal/localcluster"
	"github.com/berth-sched/berth/pkg/apis/config"
	"github.com/berth-sched/berth/test/harness"
)

// The chart is tested with Helm's Go SDK, doing what the helm CLI does: `helm lint`,
// `helm install --dry-run` (render), and install, upgrade and uninstall on the real API
// server.

func chartDir() string { return repoPath("charts", "berth-scheduler") }

func loadChart(t *testing.T) *chart.Chart {
	t.Helper()
	ch, err := loader.Load(chartDir())
	if err != nil {
		t.Fatalf("load charts/berth-scheduler: %v", err)
	}
	return ch
}

// setValues are the values `helm install --set set... --set-json setJSON...` passes.
func setValues(t *testing.T, set, setJSON []string) map[string]any {
	t.Helper()
	vals, err := (&values.Options{Values: set, JSONValues: setJSON}).MergeValues(getter.Providers{})
	if err != nil {
		t.Fatalf("--set %q --set-json %q: %v", set, setJSON, err)
	}
	return vals
}

// serverKubeVersion is the Kubernetes release of the test API server: the
// k8s.io/kubernetes module go.mod pins, which the Makefile also stamps into
// berth-scheduler. The server reports v0.0.0-master itself, as `go test` does not stamp
// versions, and the chart's kubeVersion constraint would refuse that.
func serverKubeVersion(t *testing.T) *chartutil.KubeVersion {
	t.Helper()
	kubeVersionOnce.Do(func() {
		cmd := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "k8s.io/kubernetes")
		cmd.Dir = repoPath()
		out, err := cmd.Output()
		if err != nil {
			kubeVersionErr = fmt.Errorf("go list -m k8s.io/kubernetes: %w", err)
			return
		}
		kubeVersion, kubeVersionErr = chartutil.ParseKubeVersion(strings.TrimSpace(string(out)))
	})
	if kubeVersionErr != nil {
		t.Fatal(kubeVersionErr)
	}
	return kubeVersion
}

var (
	kubeVersionOnce sync.Once
	kubeVersion     *chartutil.KubeVersion
	kubeVersionErr  error
)

// renderChart is `helm install --dry-run RELEASE charts/berth-scheduler` with the given
// values, without a cluster: the manifest helm would apply, or the error it would print.
func renderChart(t *testing.T, release string, vals map[string]any) (string, error) {
	t.Helper()
	install := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	install.DryRun, install.ClientOnly = true, true
	install.ReleaseName, install.Namespace = release, "default"
	install.KubeVersion = serverKubeVersion(t)
	rel, err := install.Run(loadChart(t), vals)
	if err != nil {
		return "", err
	}
	return rel.Manifest, nil
}

type objectKey struct{ Kind, Namespace, Name string }

// decodeObjects splits a multi-document manifest into objects by kind, namespace, name.
func decodeObjects(t *testing.T, manifest []byte) map[objectKey]*unstructured.Unstructured {
	t.Helper()
	objs := map[objectKey]*unstructured.Unstructured{}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			t.Fatalf("decode manifest: %v", err)
		}
		if len(u.Object) == 0 {
			continue
		}
		k := objectKey{u.GetKind(), u.GetNamespace(), u.GetName()}
		if objs[k] != nil {
			t.Fatalf("%v twice in the manifest", k)
		}
		objs[k] = u
	}
}

// canonicalSchedulerConfig decodes a KubeSchedulerConfiguration strictly, applies the
// scheduler's defaults and writes it back with every plugin's args in one key order, so
// two files that configure the same scheduler compare equal.
func canonicalSchedulerConfig(t *testing.T, data string) string {
	t.Helper()
	var cfg configv1.KubeSchedulerConfiguration
	if err := yaml.UnmarshalStrict([]byte(data), &cfg); err != nil {
		t.Fatalf("scheduler configuration: %v\n%s", err, data)
	}
	schedscheme.Scheme.Default(&cfg)
	for i := range cfg.Profiles {
		for j := range cfg.Profiles[i].PluginConfig {
			args := &cfg.Profiles[i].PluginConfig[j].Args
			raw := args.Raw
			if args.Object != nil { // upstream's plugins' args, added by defaulting
				var err error
				if raw, err = json.Marshal(args.Object); err != nil {
					t.Fatal(err)
				}
			}
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			canonical, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			*args = runtime.RawExtension{Raw: canonical}
		}
	}
	out, err := yaml.Marshal(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// Labels and annotations only Helm adds; the objects are otherwise the manifests'.
var helmOnlyLabels = []string{"app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "app.kubernetes.io/version", "helm.sh/chart"}

const configChecksumAnnotation = "checksum/config"

// The chart and manifests/ install the same objects for the default values, when the
// release is named berth-scheduler (object names are the release's full name). What
// differs by design is undone first, and only that: Helm's own labels; the ConfigMap's
// name, which kustomize suffixes with a hash of its content while the chart rolls the
// pods with a checksum annotation; and the configuration's text, compared as the
// scheduler reads it (decoded, defaulted). With serviceMonitor and grafanaDashboards on,
// the chart installs what manifests/ with the monitoring component install.
func TestChartInstallsTheManifestsObjectsByDefault(t *testing.T) {
	for _, tc := range []struct {
		name      string
		set       []string
		kustomize func(*testing.T) []byte
	}{
		{name: "defaults", kustomize: kustomizeManifests},
		{name: "monitoring on", set: []string{"serviceMonitor.enabled=true", "grafanaDashboards.enabled=true"}, kustomize: kustomizeWithMonitoring},
	} {
		t.Run(tc.name, func(t *testing.T) {
			manifest, err := renderChart(t, "berth-scheduler", setValues(t, tc.set, nil))
			if err != nil {
				t.Fatalf("helm install --dry-run: %v", err)
			}
			compareChartWithKustomize(t, decodeObjects(t, []byte(manifest)), decodeObjects(t, tc.kustomize(t)))
		})
	}
}

func compareChartWithKustomize(t *testing.T, fromChart, fromKustomize map[objectKey]*unstructured.Unstructured) {
	t.Helper()

	for _, u := range fromChart {
		labels := u.GetLabels()
		for _, l := range helmOnlyLabels {
			if _, ok := labels[l]; !ok {
				t.Errorf("%s %s lacks Helm's label %s", u.GetKind(), u.GetName(), l)
			}
			delete(labels, l)
		}
		u.SetLabels(labels)
		if u.GetKind() == "Deployment" {
			annotations, _, _ := unstructured.NestedStringMap(u.Object, "spec", "template", "metadata", "annotations")
			if annotations[configChecksumAnnotation] == "" {
				t.Errorf("the chart's pod template has no %s annotation: a configuration change would not roll the pods", configChecksumAnnotation)
			}
			delete(annotations, configChecksumAnnotation)
			if len(annotations) == 0 {
				unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "annotations")
			}
		}
	}
	for k, u := range fromKustomize {
		if k.Kind != "ConfigMap" || !strings.HasPrefix(k.Name, "berth-scheduler-config-") {
			continue // only the scheduler's configuration has a hashed name
		}
		hashed := u.GetName()
		plain := hashed[:strings.LastIndex(hashed, "-")]
		delete(fromKustomize, k)
		u.SetName(plain)
		fromKustomize[objectKey{k.Kind, k.Namespace, plain}] = u
		for _, d := range fromKustomize {
			if d.GetKind() != "Deployment" {
				continue
			}
			vols, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
			for _, v := range vols {
				if cm, ok := v.(map[string]any)["configMap"].(map[string]any); ok && cm["name"] == hashed {
					cm["name"] = plain
				}
			}
			if err := unstructured.SetNestedSlice(d.Object, vols, "spec", "template", "spec", "volumes"); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, objs := range []map[objectKey]*unstructured.Unstructured{fromChart, fromKustomize} {
		for k, u := range objs {
			if k.Kind != "ConfigMap" {
				continue
			}
			data, found, _ := unstructured.NestedString(u.Object, "data", "scheduler-config.yaml")
			if !found {
				continue
			}
			if err := unstructured.SetNestedField(u.Object, canonicalSchedulerConfig(t, data), "data", "scheduler-config.yaml"); err != nil {
				t.Fatal(err)
			}
		}
	}

	for k, want := range fromKustomize {
		got, ok := fromChart[k]
		if !ok {
			t.Errorf("manifests/ install %v, the chart does not", k)
			continue
		}
		if diff := cmp.Diff(want.Object, got.Object); diff != "" {
			t.Errorf("%v differs (-manifests/ +chart):\n%s", k, diff)
		}
	}
	for k := range fromChart {
		if _, ok := fromKustomize[k]; !ok {
			t.Errorf("the chart installs %v, manifests/ do not", k)
		}
	}
}

// editedValues change what operators change most, plus the image, namespace and names.
var editedValues = []string{
	"namespace.name=berth-edited",
	"profile.schedulerName=berth-edited",
	"profile.weights.PriorityPlacement=4",
	"profile.pluginArgs.PriorityHeadroom.reservations[0].belowPriority=5000",
	"profile.pluginArgs.PriorityHeadroom.reservations[0].reservePercent.cpu=20",
	"profile.pluginArgs.PriorityTaints.rules[0].key=example.com/pool",
	"profile.pluginArgs.PriorityTaints.rules[0].value=gold",
	"profile.pluginArgs.PriorityTaints.rules[0].minPriority=5000",
	"profile.pluginArgs.PriorityPlacement.criticalPriority=5000",
	"profile.pluginArgs.PriorityPlacement.packBelowPriority=100",
	"profile.pluginArgs.PriorityPlacement.spreadTopologyKey=topology.kubernetes.io/zone",
	"profile.pluginArgs.QoSPlacement.maxMemoryLimitOvercommitPercent=0",
	"profile.pluginArgs.QoSAwarePreemption.guaranteedPriorityGap=500",
	"profile.pluginArgs.QoSAwarePreemption.qosCost.guaranteed=8",
	"leaderElection.leaseDuration=20s",
	"image.repository=registry.example.com/berth/berth-scheduler",
	"image.digest=sha256:" + strings.Repeat("ab", 32),
	"resources.limits.memory=1Gi",
	"resources.requests.memory=1Gi",
	"serviceMonitor.enabled=true",
}

func TestChartLintsCleanWithDefaultAndEditedValues(t *testing.T) {
	for name, set := range map[string][]string{"default": nil, "edited": editedValues} {
		t.Run(name, func(t *testing.T) {
			linter := lint.AllWithKubeVersion(chartDir(), setValues(t, set, nil), "default", serverKubeVersion(t))
			for _, m := range linter.Messages {
				if m.Severity > support.InfoSev {
					t.Errorf("helm lint: %s", m)
				} else {
					t.Logf("helm lint: %s", m)
				}
			}
		})
	}
}

// newPluginArgs are berth's typed arguments by plugin, as berth-scheduler decodes them.
var newPluginArgs = map[string]func() config.Args{
	"PriorityHeadroom":   func() config.Args { return &config.PriorityHeadroomArgs{} },
	"PriorityTaints":     func() config.Args { return &config.PriorityTaintsArgs{} },
	"PriorityPlacement":  func() config.Args { return &config.PriorityPlacementArgs{} },
	"QoSPlacement":       func() config.Args { return &config.QoSPlacementArgs{} },
	"QoSAwarePreemption": func() config.Args { return &config.QoSAwarePreemptionArgs{} },
}

// berthVerdict is what berth-scheduler says of the plugin arguments in the (coalesced)
// chart values: its config.Decode, which its plugin factories run at startup, on each
// plugin's args as the chart renders them.
func berthVerdict(t *testing.T, vals chartutil.Values) error {
	t.Helper()
	args, err := vals.Table("profile.pluginArgs")
	if err != nil {
		t.Fatal(err)
	}
	for _, plugin := range []string{"PriorityHeadroom", "PriorityTaints", "PriorityPlacement", "QoSPlacement", "QoSAwarePreemption"} {
		a := args[plugin]
		if a == nil {
			a = map[string]any{}
		}
		raw, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		if err := config.Decode(plugin, &runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON}, newPluginArgs[plugin]()); err != nil {
			return err
		}
	}
	return nil
}

// chartValueCases are values given to both `helm install` and berth's own validation.
// bySchema names the values path Helm's schema validation reports, for what a values
// schema checks (types, int32 bounds, label syntax, unknown fields); otherwise the
// chart must fail with exactly berth-scheduler's message, or accept what berth accepts.
var chartValueCases = []struct {
	name          string
	set, setJSON  []string
	bySchema      string
	chartOnlyRule string
}{
	{name: "recommended profile"},
	{name: "edited values", set: editedValues},
	{name: "overcommit guard off", set: []string{"profile.pluginArgs.QoSPlacement.maxMemoryLimitOvercommitPercent=0"}},
	{name: "no neutral band", set: []string{"profile.pluginArgs.PriorityPlacement.packBelowPriority=1000000"}},
	{name: "no reservations", setJSON: []string{"profile.pluginArgs.PriorityHeadroom.reservations=[]"}},
	{name: "default arguments", setJSON: []string{`profile.pluginArgs={"PriorityHeadroom":{},"PriorityTaints":{},"PriorityPlacement":{},"QoSPlacement":{},"QoSAwarePreemption":{}}`}},

	{name: "headroom percent above 100", set: []string{
		"profile.pluginArgs.PriorityHeadroom.reservations[0].belowPriority=1000",
		"profile.pluginArgs.PriorityHeadroom.reservations[0].reservePercent.cpu=120"}},
	{name: "headroom negative percent", set: []string{
		"profile.pluginArgs.PriorityHeadroom.reservations[0].belowPriority=1000",
		"profile.pluginArgs.PriorityHeadroom.reservations[0].reservePercent.memory=-1"}},
	{name: "headroom without belowPriority", set: []string{"profile.pluginArgs.PriorityHeadroom.reservations[0].reservePercent.cpu=10"}},
	{name: "headroom without percents", set: []string{"profile.pluginArgs.PriorityHeadroom.reservations[0].belowPriority=10"}},
	{name: "headroom duplicate bound", setJSON: []string{`profile.pluginArgs.PriorityHeadroom.reservations=[{"belowPriority":1000,"reservePercent":{"cpu":10}},{"belowPriority":1000,"reservePercent":{"memory":10}}]`}},
	{name: "taint rule without key", set: []string{"profile.pluginArgs.PriorityTaints.rules[0].minPriority=10"}},
	{name: "taint rule without minPriority", set: []string{"profile.pluginArgs.PriorityTaints.rules[0].key=berth.io/reserved"}},
	{name: "duplicate taint rule", setJSON: []string{`profile.pluginArgs.PriorityTaints.rules=[{"key":"berth.io/reserved","minPriority":10},{"key":"berth.io/reserved","minPriority":20}]`}},
	{name: "overlapping placement bands", set: []string{"profile.pluginArgs.PriorityPlacement.criticalPriority=100"}},
	{name: "overcommit percent below 100", set: []string{"profile.pluginArgs.QoSPlacement.maxMemoryLimitOvercommitPercent=50"}},
	{name: "overcommit percent above 1000", set: []string{"profile.pluginArgs.QoSPlacement.maxMemoryLimitOvercommitPercent=5000"}},
	{name: "negative preemption gap", set: []string{"profile.pluginArgs.QoSAwarePreemption.guaranteedPriorityGap=-1"}},
	{name: "preemption gap above system-cluster-critical", set: []string{"profile.pluginArgs.QoSAwarePreemption.guaranteedPriorityGap=2000000001"}},
	{name: "preemption gap at system-cluster-critical", set: []string{"profile.pluginArgs.QoSAwarePreemption.guaranteedPriorityGap=2000000000"}},
	{name: "zero cost", set: []string{"profile.pluginArgs.QoSAwarePreemption.qosCost.burstable=0"}},
	{name: "costs out of QoS order", set: []string{"profile.pluginArgs.QoSAwarePreemption.qosCost.bestEffort=5"}},
	{name: "candidate percentage above 100", set: []string{"profile.pluginArgs.QoSAwarePreemption.minCandidateNodesPercentage=150"}},
	{name: "negative candidate count", set: []string{"profile.pluginArgs.QoSAwarePreemption.minCandidateNodesAbsolute=-1"}},
	{name: "both candidate bounds zero", set: []string{
		"profile.pluginArgs.QoSAwarePreemption.minCandidateNodesPercentage=0",
		"profile.pluginArgs.QoSAwarePreemption.minCandidateNodesAbsolute=0"}},
	{name: "several errors in one plugin", set: []string{
		"profile.pluginArgs.QoSAwarePreemption.guaranteedPriorityGap=-5",
		"profile.pluginArgs.QoSAwarePreemption.qosCost.guaranteed=0"}},

	{name: "invalid taint key", bySchema: "/profile/pluginArgs/PriorityTaints/rules/0/key", set: []string{
		"profile.pluginArgs.PriorityTaints.rules[0].key=-bad-",
		"profile.pluginArgs.PriorityTaints.rules[0].minPriority=10"}},
	{name: "invalid taint value", bySchema: "/profile/pluginArgs/PriorityTaints/rules/0/value", set: []string{
		"profile.pluginArgs.PriorityTaints.rules[0].key=berth.io/reserved",
		"profile.pluginArgs.PriorityTaints.rules[0].value=not a value!",
		"profile.pluginArgs.PriorityTaints.rules[0].minPriority=10"}},
	{name: "invalid topology key", bySchema: "/profile/pluginArgs/PriorityPlacement/spreadTopologyKey",
		set: []string{"profile.pluginArgs.PriorityPlacement.spreadTopologyKey=not a key!"}},
	{name: "misspelt argument", bySchema: "/profile/pluginArgs/QoSPlacement",
		set: []string{"profile.pluginArgs.QoSPlacement.maxMemoryLimitOvercommitPrecent=150"}},
	{name: "priority beyond int32", bySchema: "/profile/pluginArgs/PriorityPlacement/criticalPriority",
		set: []string{"profile.pluginArgs.PriorityPlacement.criticalPriority=3000000000"}},
	{name: "not a number", bySchema: "/profile/pluginArgs/QoSAwarePreemption/guaranteedPriorityGap",
		set: []string{"profile.pluginArgs.QoSAwarePreemption.guaranteedPriorityGap=many"}},
	{name: "preemption cost beyond int64", bySchema: "/profile/pluginArgs/QoSAwarePreemption/qosCost/guaranteed",
		setJSON: []string{"profile.pluginArgs.QoSAwarePreemption.qosCost.guaranteed=9223372036854775808"}},

	{name: "leader election off with one replica", set: []string{"leaderElection.leaderElect=false", "replicaCount=1"}},
	{name: "leader election off with two replicas", set: []string{"leaderElection.leaderElect=false"},
		chartOnlyRule: "leaderElection.leaderElect: false needs replicaCount: 1, not 2"},
}

// The chart accepts exactly the plugin arguments berth-scheduler accepts, and rejects
// the others at `helm install`: with berth-scheduler's own message where berth words
// the rule, with the schema's naming the value where the schema checks it.
func TestChartRejectsWhatBerthSchedulerRejects(t *testing.T) {
	ch := loadChart(t)
	for _, tc := range chartValueCases {
		t.Run(tc.name, func(t *testing.T) {
			vals := setValues(t, tc.set, tc.setJSON)
			coalesced, err := chartutil.CoalesceValues(ch, vals)
			if err != nil {
				t.Fatal(err)
			}
			berthErr := berthVerdict(t, coalesced)
			_, helmErr := renderChart(t, "berth-scheduler", vals)
			switch {
			case tc.chartOnlyRule != "":
				if berthErr != nil {
					t.Fatalf("berth rejects the arguments: %v", berthErr)
				}
				if helmErr == nil || !strings.Contains(helmErr.Error(), tc.chartOnlyRule) {
					t.Errorf("helm install: %v, want an error containing %q", helmErr, tc.chartOnlyRule)
				}
			case berthErr == nil:
				if helmErr != nil {
					t.Errorf("berth-scheduler accepts these values, helm install fails: %v", helmErr)
				}
			case helmErr == nil:
				t.Errorf("berth-scheduler rejects these values (%v), helm install accepts them", berthErr)
			case tc.bySchema != "":
				if !strings.Contains(helmErr.Error(), "'"+tc.bySchema+"'") {
					t.Errorf("helm install: %v\nwant the schema's error naming %s (berth says: %v)", helmErr, tc.bySchema, berthErr)
				}
			default:
				if !strings.Contains(helmErr.Error(), berthErr.Error()) {
					t.Errorf("helm install: %v\nwant berth-scheduler's message: %v", helmErr, berthErr)
				}
			}
			t.Logf("berth: %v\nhelm: %v", berthErr, helmErr)
		})
	}
}

// Integers outside the plugins' arguments land in int32 fields: the score weights in
// the KubeSchedulerConfiguration (upstream sets no tighter limit), replicaCount and the
// PodDisruptionBudget's minAvailable in their objects. The schema rejects what a field
// cannot hold, naming the value, instead of rendering a configuration berth-scheduler
// refuses at start (a crash-looping pod) or an object the API server refuses; up to the
// bound, the configuration loads as berth-scheduler loads it.
func TestChartSchemaKeepsIntegersWithinTheirFields(t *testing.T) {
	for _, tc := range []struct {
		name     string
		set      []string
		bySchema string
	}{
		{name: "weights at the int32 maximum load", set: []string{
			"profile.weights.PriorityTaints=2147483647",
			"profile.weights.PriorityPlacement=2147483647",
			"profile.weights.QoSPlacement=2147483647"}},
		{name: "weight beyond int32 is rejected", bySchema: "/profile/weights/PriorityPlacement",
			set: []string{"profile.weights.PriorityPlacement=3000000000"}},
		{name: "weight one past int32 is rejected", bySchema: "/profile/weights/QoSPlacement",
			set: []string{"profile.weights.QoSPlacement=2147483648"}},
		{name: "replica count beyond int32 is rejected", bySchema: "/replicaCount",
			set: []string{"replicaCount=3000000000"}},
		{name: "disruption budget count beyond int32 is rejected", bySchema: "/podDisruptionBudget/minAvailable",
			set: []string{"podDisruptionBudget.minAvailable=3000000000"}},
		{name: "negative disruption budget count is rejected", bySchema: "/podDisruptionBudget/minAvailable",
			set: []string{"podDisruptionBudget.minAvailable=-1"}},
		{name: "disruption budget percentage is accepted", set: []string{"podDisruptionBudget.minAvailable=50%"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			manifest, err := renderChart(t, "berth-scheduler", setValues(t, tc.set, nil))
			if tc.bySchema != "" {
				if err == nil || !strings.Contains(err.Error(), "'"+tc.bySchema+"'") {
					t.Errorf("helm install: %v\nwant the schema's error naming %s", err, tc.bySchema)
				}
				return
			}
			if err != nil {
				t.Fatalf("helm install --dry-run: %v", err)
			}
			cm := decodeObjects(t, []byte(manifest))[objectKey{"ConfigMap", "berth-system", "berth-scheduler-config"}]
			if cm == nil {
				t.Fatal("no scheduler ConfigMap rendered")
			}
			data, _, _ := unstructured.NestedString(cm.Object, "data", "scheduler-config.yaml")
			// As kube-scheduler's loadConfig (cmd/kube-scheduler/app/options) reads --config.
			obj, _, err := schedscheme.Codecs.UniversalDecoder().Decode([]byte(data), nil, nil)
			if err != nil {
				t.Fatalf("berth-scheduler would not load the configuration: %v", err)
			}
			if errs := schedvalidation.ValidateKubeSchedulerConfiguration(obj.(*schedconfig.KubeSchedulerConfiguration)); errs != nil {
				t.Errorf("berth-scheduler would reject the configuration: %v", errs)
			}
		})
	}
}

// With leader election a rollout brings the new pod up as standby first and the budget
// keeps one replica through drains. A single replica gets no budget, which could only
// block every drain of its node; without a lease the Deployment is recreated, so a
// rollout never runs two schedulers at once.
func TestChartRollsAndDrainsAsItsReplicasAllow(t *testing.T) {
	for _, tc := range []struct {
		name         string
		set          []string
		wantStrategy appsv1.DeploymentStrategyType
		wantPDB      bool
	}{
		{name: "two replicas with leader election roll a standby in and keep one through drains",
			wantStrategy: appsv1.RollingUpdateDeploymentStrategyType, wantPDB: true},
		{name: "one replica with leader election has no budget blocking drains", set: []string{"replicaCount=1"},
			wantStrategy: appsv1.RollingUpdateDeploymentStrategyType},
		{name: "leader election off recreates the one scheduler and has no budget blocking drains",
			set:          []string{"leaderElection.leaderElect=false", "replicaCount=1"},
			wantStrategy: appsv1.RecreateDeploymentStrategyType},
	} {
		t.Run(tc.name, func(t *testing.T) {
			manifest, err := renderChart(t, "berth-scheduler", setValues(t, tc.set, nil))
			if err != nil {
				t.Fatalf("helm install --dry-run: %v", err)
			}
			objs := decodeObjects(t, []byte(manifest))
			var d appsv1.Deployment
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(objs[objectKey{"Deployment", "berth-system", "berth-scheduler"}].Object, &d); err != nil {
				t.Fatal(err)
			}
			switch s := d.Spec.Strategy; {
			case s.Type != tc.wantStrategy:
				t.Errorf("strategy %s, want %s", s.Type, tc.wantStrategy)
			case s.Type == appsv1.RecreateDeploymentStrategyType && s.RollingUpdate != nil:
				t.Errorf("strategy Recreate with rollingUpdate %+v, which the API server refuses", s.RollingUpdate)
			case s.Type == appsv1.RollingUpdateDeploymentStrategyType &&
				(s.RollingUpdate == nil || s.RollingUpdate.MaxSurge.IntValue() != 1 || s.RollingUpdate.MaxUnavailable.IntValue() != 0):
				t.Errorf("rolling update %+v, want maxSurge 1, maxUnavailable 0", s.RollingUpdate)
			}
			pdb := objs[objectKey{"PodDisruptionBudget", "berth-system", "berth-scheduler"}]
			switch {
			case tc.wantPDB && pdb == nil:
				t.Error("no PodDisruptionBudget rendered")
			case tc.wantPDB:
				var budget policyv1.PodDisruptionBudget
				if err := runtime.DefaultUnstructuredConverter.FromUnstructured(pdb.Object, &budget); err != nil {
					t.Fatal(err)
				}
				if m := budget.Spec.MinAvailable; m == nil || m.String() != "1" {
					t.Errorf("PodDisruptionBudget minAvailable %v, want 1", m)
				}
			case pdb != nil:
				t.Errorf("PodDisruptionBudget %v rendered for %d replica(s): it blocks every drain of the pod's node", pdb.Object["spec"], *d.Spec.Replicas)
			}
		})
	}
}

// serviceMonitor.enabled adds a Service on the pods' secure port and a ServiceMonitor
// that selects it and scrapes /metrics over HTTPS with Prometheus' token.
func TestChartServiceMonitorScrapesTheSecurePort(t *testing.T) {
	manifest, err := renderChart(t, "berth-scheduler", setValues(t, []string{"serviceMonitor.enabled=true", "serviceMonitor.labels.release=prometheus"}, nil))
	if err != nil {
		t.Fatalf("helm install --dry-run: %v", err)
	}
	objs := decodeObjects(t, []byte(manifest))
	var d appsv1.Deployment
	var svc v1.Service
	for key, into := range map[objectKey]any{
		{"Deployment", "berth-system", "berth-scheduler"}:      &d,
		{"Service", "berth-system", "berth-scheduler-metrics"}: &svc,
	} {
		u := objs[key]
		if u == nil {
			t.Fatalf("no %v rendered", key)
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
			t.Fatal(err)
		}
	}
	sm := objs[objectKey{"ServiceMonitor", "berth-system", "berth-scheduler"}]
	if sm == nil {
		t.Fatal("no ServiceMonitor rendered")
	}
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, d.Spec.Template.Labels)
	}
	if p := svc.Spec.Ports; len(p) != 1 || p[0].TargetPort.StrVal != d.Spec.Template.Spec.Containers[0].Ports[0].Name {
		t.Errorf("Service ports %+v do not target the container's secure port", p)
	}
	selector, _, _ := unstructured.NestedStringMap(sm.Object, "spec", "selector", "matchLabels")
	if !labels.SelectorFromSet(selector).Matches(labels.Set(svc.Labels)) {
		t.Errorf("ServiceMonitor selector %v does not select the Service %v", selector, svc.Labels)
	}
	if sm.GetLabels()["release"] != "prometheus" {
		t.Errorf("ServiceMonitor labels %v lack serviceMonitor.labels", sm.GetLabels())
	}
	endpoints, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(endpoints) != 1 {
		t.Fatalf("endpoints %v, want one", endpoints)
	}
	ep := endpoints[0].(map[string]any)
	if ep["port"] != svc.Spec.Ports[0].Name || ep["scheme"] != "https" || ep["path"] != "/metrics" {
		t.Errorf("endpoint %v, want port %s, https, /metrics", ep, svc.Spec.Ports[0].Name)
	}
}

// helmConfiguration is the helm CLI's client setup against the test cluster as its
// admin, release records (Secrets) in namespace ns.
func helmConfiguration(t *testing.T, ns string) *action.Configuration {
	t.Helper()
	flags := genericclioptions.NewConfigFlags(false)
	kubeconfig, cacheDir := cp.Kubeconfig(), t.TempDir()
	flags.KubeConfig, flags.Namespace, flags.CacheDir = &kubeconfig, &ns, &cacheDir
	cfg := new(action.Configuration)
	if err := cfg.Init(flags, ns, "secret", func(format string, v ...any) { t.Logf("helm: "+format, v...) }); err != nil {
		t.Fatal(err)
	}
	// What Helm asks the server for, but with the version the server cannot stamp.
	apiVersions, err := action.GetVersionSet(cp.Client.Discovery())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Capabilities = &chartutil.Capabilities{
		KubeVersion: *serverKubeVersion(t),
		APIVersions: apiVersions,
		HelmVersion: chartutil.DefaultCapabilities.HelmVersion,
	}
	return cfg
}

// TestChartInstallsAndSchedulesThenUpgradesAndUninstalls installs the chart with
// edited values on the API server, runs the image's entrypoint from the rendered
// Deployment and ConfigMap as the chart's ServiceAccount (startImageScheduler: what a
// kubelet would run), schedules a pod with it, then upgrades and uninstalls.
func TestChartInstallsAndSchedulesThenUpgradesAndUninstalls(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ensureNodes(t, ctx)
	img, desc, _ := openImage(t, imageArchive(t))
	const release, ns, schedulerName = "berth-e2e", "berth-e2e", "berth-e2e"
	fullname := release + "-berth-scheduler"
	set := []string{
		"namespace.name=" + ns,
		"profile.schedulerName=" + schedulerName,
		"image.digest=" + desc.Digest.String(),
		"profile.weights.PriorityPlacement=4",
		"profile.pluginArgs.QoSAwarePreemption.guaranteedPriorityGap=500",
		"leaderElection.leaseDuration=20s",
		"resources.limits.memory=1Gi",
		"resources.requests.memory=1Gi",
		"extraArgs={-v=2}",
	}
	ch := loadChart(t)
	cfg := helmConfiguration(t, "default")
	install := action.NewInstall(cfg)
	install.ReleaseName, install.Namespace, install.Timeout = release, "default", time.Minute
	if _, err := install.RunWithContext(ctx, ch, setValues(t, set, nil)); err != nil {
		t.Fatalf("helm install: %v", err)
	}
	uninstalled := false
	t.Cleanup(func() {
		if !uninstalled {
			_, _ = action.NewUninstall(helmConfiguration(t, "default")).Run(release)
		}
	})

	// What Helm created, read back from the API server.
	d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, fullname, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkDeployment(t, d)
	c := d.Spec.Template.Spec.Containers[0]
	if want := "berth-scheduler:" + ch.Metadata.AppVersion + "@" + desc.Digest.String(); c.Image != want {
		t.Errorf("image %s, want %s", c.Image, want)
	}
	if got := c.Resources.Limits.Memory().String(); got != "1Gi" {
		t.Errorf("memory limit %s, want 1Gi", got)
	}
	admitted := admitPodTemplate(t, ctx, d)
	if admitted.Status.QOSClass != v1.PodQOSGuaranteed {
		t.Errorf("QoS %s, want Guaranteed", admitted.Status.QOSClass)
	}
	cm, err := cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, fullname+"-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	schedConfig := cm.Data["scheduler-config.yaml"]
	var sc configv1.KubeSchedulerConfiguration
	if err := yaml.UnmarshalStrict([]byte(schedConfig), &sc); err != nil {
		t.Fatalf("the chart's scheduler configuration: %v", err)
	}
	le := sc.LeaderElection
	if le.ResourceName != fullname || le.ResourceNamespace != ns || le.LeaseDuration.Duration != 20*time.Second {
		t.Errorf("leader election %+v, want lease %s/%s for 20s", le, ns, fullname)
	}
	var gotArgs config.QoSAwarePreemptionArgs
	for _, pc := range sc.Profiles[0].PluginConfig {
		if pc.Name == "QoSAwarePreemption" {
			if err := config.Decode(pc.Name, &runtime.Unknown{Raw: pc.Args.Raw, ContentType: runtime.ContentTypeJSON}, &gotArgs); err != nil {
				t.Fatal(err)
			}
		}
	}
	if gotArgs.GuaranteedPriorityGap != 500 {
		t.Errorf("QoSAwarePreemption.guaranteedPriorityGap %d, want 500 from --set", gotArgs.GuaranteedPriorityGap)
	}

	// Run it: the image's entrypoint with the Deployment's args, the ConfigMap and the
	// ServiceAccount's credentials, and schedule a pod that asks for the profile.
	p := startImageScheduler(t, img, podFiles{
		config:    []byte(schedConfig),
		token:     []byte(serviceAccountToken(t, ctx, ns, fullname)),
		caCert:    cp.Config.CAData,
		namespace: []byte(ns),
	}, c.Args)
	podNS := newNamespace(t, ctx)
	pod := harness.BestEffortPod(podNS, "helm-installed").SchedulerName(schedulerName).Obj()
	createPod(t, ctx, pod)
	if _, err := cp.WaitForPod(ctx, podNS, pod.Name, 60*time.Second, "bound by the chart's scheduler", localcluster.IsBound); err != nil {
		t.Fatal(err)
	}
	lease, err := cp.Client.CoordinationV1().Leases(ns).Get(ctx, fullname, metav1.GetOptions{})
	if err != nil || lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Errorf("lease %s/%s not held: %v", ns, fullname, err)
	}
	if code, _, err := p.Get(ctx, "/readyz", ""); err != nil || code != 200 {
		t.Errorf("/readyz answered %d (%v)", code, err)
	}
	if strings.Contains(strings.ToLower(p.Log()), "forbidden") {
		t.Errorf("berth-scheduler was refused requests the chart's RBAC should allow:\n%s", p.Log())
	}
	p.Stop(10 * time.Second)

	// Upgrade: a changed argument reaches the ConfigMap and rolls the pods.
	upgrade := action.NewUpgrade(cfg)
	upgrade.Namespace, upgrade.Timeout = "default", time.Minute
	set = append(set, "profile.pluginArgs.QoSAwarePreemption.guaranteedPriorityGap=1000")
	if _, err := upgrade.RunWithContext(ctx, release, ch, setValues(t, set, nil)); err != nil {
		t.Fatalf("helm upgrade: %v", err)
	}
	cm, err = cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, fullname+"-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cm.Data["scheduler-config.yaml"], "guaranteedPriorityGap: 1000") {
		t.Errorf("after helm upgrade the configuration is\n%s", cm.Data["scheduler-config.yaml"])
	}
	upgraded, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, fullname, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	before, after := d.Spec.Template.Annotations[configChecksumAnnotation], upgraded.Spec.Template.Annotations[configChecksumAnnotation]
	if before == "" || before == after {
		t.Errorf("pod template %s %q before, %q after the upgrade: the pods would not roll", configChecksumAnnotation, before, after)
	}

	// Uninstall removes what install created, cluster-wide objects and kube-system's
	// RoleBinding included.
	if _, err := action.NewUninstall(cfg).Run(release); err != nil {
		t.Fatalf("helm uninstall: %v", err)
	}
	uninstalled = true
	gone := map[string]func() error{
		"Deployment": func() error {
			_, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, fullname, metav1.GetOptions{})
			return err
		},
		"ClusterRoleBinding": func() error {
			_, err := cp.Client.RbacV1().ClusterRoleBindings().Get(ctx, fullname+"-as-kube-scheduler", metav1.GetOptions{})
			return err
		},
		"RoleBinding in kube-system": func() error {
			_, err := cp.Client.RbacV1().RoleBindings("kube-system").Get(ctx, fullname+"-extension-apiserver-authentication-reader", metav1.GetOptions{})
			return err
		},
	}
	for what, get := range gone {
		if err := get(); !apierrors.IsNotFound(err) {
			t.Errorf("%s after helm uninstall: %v, want NotFound", what, err)
		}
	}
	// No namespace controller runs here to finish deleting the namespace; that it is
	// being deleted is what uninstall does.
	if n, err := cp.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil && n.DeletionTimestamp == nil {
		t.Errorf("namespace %s not deleted by helm uninstall", ns)
	}
}

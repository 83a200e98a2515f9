package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/pkg/plugins"
)

// liveFlags are explain's flags for a live cluster.
type liveFlags struct {
	kubeconfig        string
	configFromCluster bool
	namespace         string
	deployment        string
}

// configFile is the key of the scheduler configuration in berth's ConfigMap
// (manifests/base/kustomization.yaml's configMapGenerator).
const configFile = "scheduler-config.yaml"

// explainLive explains pod on a copy of the live cluster's state: read-only, it lists
// what the scheduler's plugins read, builds the simulator's state from it, and runs the
// pod through the profile once, in this process.
func explainLive(ctx context.Context, o *Options, in *inputs, lf *liveFlags, pod string, top int, asJSON bool) error {
	if in.scenario != "" || in.trace != "" || len(in.sweeps) > 0 {
		return fmt.Errorf("--kubeconfig explains a pod on the live cluster: --scenario, --trace and --sweep do not apply")
	}
	if !strings.Contains(pod, "/") {
		pod = "default/" + pod
	}
	restCfg, err := clientcmd.BuildConfigFromFlags("", lf.kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(restCfg)
	if err != nil {
		return err
	}
	name, data, err := liveConfig(ctx, client, in, lf)
	if err != nil {
		return err
	}
	if err := sim.Check(ctx, name, data, plugins.Registry()); err != nil {
		return err
	}
	cfg, err := sim.LoadConfig(data)
	if err != nil {
		return err
	}
	state, err := sim.ReadCluster(ctx, client, pod)
	if err != nil {
		return err
	}
	profile := state.Workload.Pods[len(state.Workload.Pods)-1].Pod.Spec.SchedulerName
	var profiles []string
	for _, p := range cfg.Profiles {
		profiles = append(profiles, p.SchedulerName)
	}
	if profile != "" && !contains(profiles, profile) {
		return fmt.Errorf("--pod %s: its scheduler is %s, and the configuration (%s) has no such profile (it has %s)", pod, profile, name, strings.Join(profiles, ", "))
	}
	res, err := sim.Run(ctx, state.Workload, cfg, sim.Options{Registry: plugins.Registry(), Seed: in.seed, Explain: pod, Objects: state.Objects})
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(o.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Cluster  string        `json:"cluster"`
			Config   string        `json:"config"`
			BoundTo  string        `json:"boundTo,omitempty"`
			Pending  int           `json:"otherPendingPods"`
			Attempts []sim.Attempt `json:"attempts"`
		}{restCfg.Host, name, state.BoundTo, state.Pending, res.Explain})
	}
	writeLiveHeader(o.Out, restCfg.Host, name, state)
	return sim.WriteExplanation(o.Out, "live cluster", res.Explain, top)
}

func writeLiveHeader(out io.Writer, host, config string, s *sim.ClusterState) {
	bound := 0
	for _, p := range s.Workload.Pods {
		if p.Pod.Spec.NodeName != "" {
			bound++
		}
	}
	fmt.Fprintf(out, "Cluster %s read at %s: %d nodes, %d pods bound; configuration %s.\n",
		host, s.ReadAt.Format("2006-01-02 15:04:05 MST"), len(s.Workload.Nodes), bound, config)
	if s.BoundTo != "" {
		fmt.Fprintf(out, "%s is bound to %s; explained as if it were pending now.\n", s.Target, s.BoundTo)
	}
	if s.Pending > 0 {
		fmt.Fprintf(out, "%d other pending pod(s), and any nominations, are not part of this state.\n", s.Pending)
	}
	fmt.Fprintln(out)
}

// liveConfig is the configuration to explain with: --config, or berth's ConfigMap in
// the cluster (--config-from-cluster: the one berth-scheduler's Deployment mounts), or
// berth's recommended profile.
func liveConfig(ctx context.Context, client kubernetes.Interface, in *inputs, lf *liveFlags) (string, []byte, error) {
	if lf.configFromCluster {
		if len(in.configs) > 0 {
			return "", nil, fmt.Errorf("--config and --config-from-cluster: give one")
		}
		d, err := client.AppsV1().Deployments(lf.namespace).Get(ctx, lf.deployment, metav1.GetOptions{})
		if err != nil {
			return "", nil, fmt.Errorf("--config-from-cluster: reading Deployment %s/%s: %w", lf.namespace, lf.deployment, err)
		}
		for _, vol := range d.Spec.Template.Spec.Volumes {
			if vol.ConfigMap == nil {
				continue
			}
			cm, err := client.CoreV1().ConfigMaps(lf.namespace).Get(ctx, vol.ConfigMap.Name, metav1.GetOptions{})
			if err != nil {
				return "", nil, fmt.Errorf("--config-from-cluster: %w", err)
			}
			if data, ok := cm.Data[configFile]; ok {
				return "ConfigMap " + lf.namespace + "/" + cm.Name, []byte(data), nil
			}
		}
		return "", nil, fmt.Errorf("--config-from-cluster: Deployment %s/%s mounts no ConfigMap with %s", lf.namespace, lf.deployment, configFile)
	}
	configs, err := in.loadConfigs()
	if err != nil {
		return "", nil, err
	}
	if len(configs) != 1 {
		return "", nil, fmt.Errorf("--kubeconfig: give one --config (or --config-from-cluster)")
	}
	return configs[0].name, configs[0].data, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

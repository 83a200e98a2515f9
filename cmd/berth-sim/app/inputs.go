package app

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/internal/sim/workload"
	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/pkg/plugins"
)

// Built-in configuration names --config accepts besides a file.
const (
	// DefaultConfigName is upstream's default profile.
	DefaultConfigName = "default"
	// BerthConfigName is berth's recommended profile, manifests/base/scheduler-config.yaml,
	// what berth-sim replays when no --config is given.
	BerthConfigName = "berth"
)

// inputs are the flags run and explain share: what to replay and under what.
type inputs struct {
	scenario string
	trace    string
	traceMap string
	configs  []string
	sweeps   []string
	seed     int64
}

func (in *inputs) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&in.scenario, "scenario", "", "scenario file (YAML; docs/simulator.md describes the schema)")
	fs.StringVar(&in.trace, "trace", "", "cluster trace to replay instead of a scenario: openb:NODES.csv,PODS.csv (Alibaba cluster-trace-gpu-v2023)")
	fs.StringVar(&in.traceMap, "trace-map", "", "override the trace's mapping to PriorityClasses and QoS shapes (docs/simulator.md)")
	fs.StringArrayVar(&in.configs, "config", nil, `KubeSchedulerConfiguration file, or "default" (upstream's default profile) or "berth" (berth's recommended profile); repeat to compare (default "berth")`)
	fs.StringArrayVar(&in.sweeps, "sweep", nil, "Plugin.weight=V1,V2 or Plugin.argument=V1,V2: try each value, over every configuration; repeat for a grid")
	fs.Int64Var(&in.seed, "seed", 1, "seed of every random choice (ranged durations, preemption's candidate sampling)")
}

// loadWorkload reads the scenario or the trace.
func (in *inputs) loadWorkload() (*workload.Workload, string, error) {
	switch {
	case in.scenario != "" && in.trace != "":
		return nil, "", fmt.Errorf("--scenario and --trace: give one workload, not both")
	case in.scenario != "":
		if in.traceMap != "" {
			return nil, "", fmt.Errorf("--trace-map applies to --trace, not to --scenario")
		}
		w, err := workload.LoadScenario(in.scenario, in.seed)
		return w, "scenario " + in.scenario, err
	case in.trace != "":
		kind, files, ok := strings.Cut(in.trace, ":")
		nodes, pods, ok2 := strings.Cut(files, ",")
		if !ok || !ok2 || kind != "openb" || nodes == "" || pods == "" {
			return nil, "", fmt.Errorf("--trace %q: want openb:NODES.csv,PODS.csv", in.trace)
		}
		m := workload.DefaultOpenBMapping()
		if in.traceMap != "" {
			var err error
			if m, err = workload.ParseOpenBMapping(in.traceMap); err != nil {
				return nil, "", fmt.Errorf("--trace-map: %w", err)
			}
		}
		w, err := workload.LoadOpenB(nodes, pods, m)
		return w, "openb trace " + nodes + "," + pods, err
	}
	return nil, "", fmt.Errorf("no workload: give --scenario FILE or --trace openb:NODES.csv,PODS.csv")
}

// config is one --config, read.
type config struct {
	name string
	data []byte
}

func (in *inputs) loadConfigs() ([]config, error) {
	names := in.configs
	if len(names) == 0 {
		names = []string{BerthConfigName}
	}
	seen := map[string]bool{}
	var out []config
	for _, n := range names {
		if seen[n] {
			return nil, fmt.Errorf("--config %s is given twice", n)
		}
		seen[n] = true
		switch n {
		case DefaultConfigName:
			out = append(out, config{name: n, data: []byte(sim.DefaultConfig)})
		case BerthConfigName:
			out = append(out, config{name: n, data: manifests.SchedulerConfig})
		default:
			data, err := os.ReadFile(n)
			if err != nil {
				return nil, fmt.Errorf("--config: %w", err)
			}
			out = append(out, config{name: n, data: data})
		}
	}
	return out, nil
}

// plannedRun is one run of the comparison, checked and ready.
type plannedRun struct {
	job    sim.Job
	config string
	sweep  map[string]string
}

// plan expands configurations and sweeps into runs and checks each configuration as
// berth-scheduler would at start, so that a bad input fails before anything runs.
func (in *inputs) plan(ctx context.Context, explain string) ([]plannedRun, error) {
	configs, err := in.loadConfigs()
	if err != nil {
		return nil, err
	}
	var sweeps []sim.Sweep
	for _, f := range in.sweeps {
		s, err := sim.ParseSweep(f, plugins.Registry())
		if err != nil {
			return nil, err
		}
		sweeps = append(sweeps, s)
	}
	var runs []plannedRun
	for _, c := range configs {
		for _, point := range sim.Grid(sweeps) {
			data, err := sim.ApplySettings(c.data, point)
			if err != nil {
				return nil, fmt.Errorf("--config %s: %w", c.name, err)
			}
			name := c.name
			sweep := map[string]string{}
			for _, s := range point {
				name += " " + s.Sweep.Plugin + "." + s.Sweep.Path + "=" + s.Value
				sweep[s.Sweep.Plugin+"."+s.Sweep.Path] = s.Value
			}
			source := c.name
			if len(point) > 0 {
				source = fmt.Sprintf("%s (with %s)", c.name, strings.TrimPrefix(name, c.name+" "))
			}
			if err := sim.Check(ctx, source, data, plugins.Registry()); err != nil {
				return nil, err
			}
			runs = append(runs, plannedRun{job: sim.Job{Name: name, Config: data, Seed: in.seed, Explain: explain}, config: c.name, sweep: sweep})
		}
	}
	return runs, nil
}

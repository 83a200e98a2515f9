package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"

	kubeversion "k8s.io/component-base/version"

	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/internal/sim/workload"
	"github.com/berth-sched/berth/pkg/version"
)

// Manifest is manifest.json: the inputs of a comparison, enough to run it again and to
// tell whether two results directories came from the same inputs.
type Manifest struct {
	Workload WorkloadSource `json:"workload"`
	// Configs are the configurations compared, in run order, each once.
	Configs []ConfigSource `json:"configs"`
	// Sweeps are the --sweep values as given ("PriorityPlacement.weight=1,2,4").
	Sweeps   []string `json:"sweeps"`
	Seed     int64    `json:"seed"`
	Parallel int      `json:"parallel"`
	// BerthVersion is pkg/version.Berth; KubeSchedulerVersion, the kube-scheduler berth
	// embeds (k8s.io/component-base/version, stamped by the Makefile).
	BerthVersion         string `json:"berthVersion"`
	KubeSchedulerVersion string `json:"kubeSchedulerVersion"`
	GoVersion            string `json:"goVersion"`
	// FeatureGates are the values of every feature gate the process knows as the runs
	// see them (sim.RunFeatureGates): the runs' worker processes set some.
	FeatureGates map[string]bool `json:"featureGates"`
	CommandLine  []string        `json:"commandLine"`
}

// WorkloadSource says what was replayed.
type WorkloadSource struct {
	// Source describes where the workload came from, e.g. "scenario examples/sim/a.yaml"
	// or "trace openb:nodes.csv,pods.csv".
	Source string `json:"source"`
	// SHA256 is WorkloadSHA256 of the workload as built.
	SHA256 string `json:"sha256"`
	Nodes  int    `json:"nodes"`
	Pods   int    `json:"pods"`
}

// ConfigSource is one configuration: its name as runs show it (Run.Config) and the
// sha256 of its bytes.
type ConfigSource struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
}

// ConfigSourceOf describes a configuration read from data.
func ConfigSourceOf(name string, data []byte) ConfigSource {
	sum := sha256.Sum256(data)
	return ConfigSource{Name: name, SHA256: hex.EncodeToString(sum[:])}
}

// WorkloadSHA256 is the hex sha256 of the workload's canonical form: its encoding/json
// encoding (nodes, PriorityClasses, namespaces, PDBs, then pods in order with arrival
// and duration in nanoseconds; struct fields in declaration order, map keys sorted).
// Two workloads with the same hash replay identically.
func WorkloadSHA256(w *workload.Workload) (string, error) {
	if w == nil {
		return "", errors.New("no workload")
	}
	b, err := json.Marshal(w)
	if err != nil {
		return "", fmt.Errorf("encoding the workload: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// NewManifest fills what the process knows: the workload's description and hash, the
// versions, the feature gates the runs use (sim.RunFeatureGates) and the command line.
// The caller adds the configs, sweeps, seed and parallelism.
func NewManifest(source string, w *workload.Workload, commandLine []string) (Manifest, error) {
	sum, err := WorkloadSHA256(w)
	if err != nil {
		return Manifest{}, err
	}
	gates, err := sim.RunFeatureGates()
	if err != nil {
		return Manifest{}, err
	}
	return Manifest{
		Workload:             WorkloadSource{Source: source, SHA256: sum, Nodes: len(w.Nodes), Pods: len(w.Pods)},
		BerthVersion:         version.Berth,
		KubeSchedulerVersion: kubeversion.Get().GitVersion,
		GoVersion:            runtime.Version(),
		FeatureGates:         gates,
		CommandLine:          append([]string{}, commandLine...),
	}, nil
}

// WriteJSON writes manifest.json, indented; lists are [] rather than null.
func (m Manifest) WriteJSON(out io.Writer) error {
	if m.Configs == nil {
		m.Configs = []ConfigSource{}
	}
	if m.Sweeps == nil {
		m.Sweeps = []string{}
	}
	if m.FeatureGates == nil {
		m.FeatureGates = map[string]bool{}
	}
	if m.CommandLine == nil {
		m.CommandLine = []string{}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("manifest.json: %w", err)
	}
	_, err = out.Write(append(b, '\n'))
	return err
}

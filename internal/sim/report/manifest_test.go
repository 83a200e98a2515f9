package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/berth-sched/berth/pkg/version"
)

// manifestKeys are manifest.json's keys.
var manifestKeys = []string{
	"workload", "workload.source", "workload.sha256", "workload.nodes", "workload.pods",
	"configs", "configs[].name", "configs[].sha256", "sweeps", "seed", "parallel",
	"berthVersion", "kubeSchedulerVersion", "goVersion", "featureGates", "commandLine",
}

func TestNewManifestRecordsVersionsGatesAndTheWorkloadHash(t *testing.T) {
	w, _ := comparison()
	m, err := NewManifest("scenario mixed.yaml", w, []string{"berth-sim", "--seed", "1"})
	if err != nil {
		t.Fatal(err)
	}
	m.Configs = []ConfigSource{ConfigSourceOf("default", []byte("x"))}
	if m.Workload.Source != "scenario mixed.yaml" || m.Workload.Nodes != 2 || m.Workload.Pods != 5 || len(m.Workload.SHA256) != 64 {
		t.Errorf("workload = %+v", m.Workload)
	}
	if m.BerthVersion != version.Berth || m.KubeSchedulerVersion == "" || m.GoVersion != runtime.Version() {
		t.Errorf("versions = %q, %q, %q", m.BerthVersion, m.KubeSchedulerVersion, m.GoVersion)
	}
	for _, gate := range []string{"OpportunisticBatching", "SchedulerAsyncPreemption"} {
		if _, ok := m.FeatureGates[gate]; !ok {
			t.Errorf("feature gate %s is not recorded", gate)
		}
	}
	if sum := sha256.Sum256([]byte("x")); m.Configs[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("config hash = %s", m.Configs[0].SHA256)
	}
	var b bytes.Buffer
	if err := m.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	want := append([]string{}, manifestKeys...)
	sort.Strings(want)
	if d := cmp.Diff(want, keyPaths(t, b.Bytes(), "featureGates")); d != "" {
		t.Errorf("manifest.json keys (-want +got):\n%s", d)
	}
}

func TestWorkloadSHA256ChangesWithTheWorkloadOnly(t *testing.T) {
	a, _ := comparison()
	b, _ := comparison()
	ha, err := WorkloadSHA256(a)
	if err != nil {
		t.Fatal(err)
	}
	if hb, _ := WorkloadSHA256(b); ha != hb {
		t.Errorf("two builds of the same workload hash differently: %s, %s", ha, hb)
	}
	b.Pods[3].Arrival += time.Millisecond
	if hb, _ := WorkloadSHA256(b); ha == hb {
		t.Error("moving an arrival does not change the hash")
	}
}

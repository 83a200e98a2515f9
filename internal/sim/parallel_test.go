package sim

import (
	"context"
	"reflect"
	"testing"

	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/pkg/plugins"
)

func TestParallelRunsInWorkersEqualTheInProcessRun(t *testing.T) {
	w := smokeWorkload()
	jobs := []Job{{Name: "default", Config: []byte(DefaultConfig), Seed: 3}, {Name: "berth", Config: manifests.SchedulerConfig, Seed: 3}}
	var last int
	got, err := RunParallel(context.Background(), w, jobs, ParallelOptions{Parallel: 2, Progress: func(done, total int) {
		if total != 2*len(w.Pods) {
			t.Errorf("progress total %d", total)
		}
		last = done
	}})
	if err != nil {
		t.Fatal(err)
	}
	if last != 2*len(w.Pods) {
		t.Errorf("last progress %d, want %d", last, 2*len(w.Pods))
	}
	for i, j := range jobs {
		cfg, err := LoadConfig(j.Config)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Run(context.Background(), smokeWorkload(), cfg, Options{Registry: plugins.Registry(), Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got[i].Pods, want.Pods) {
			t.Errorf("%s: worker's pods differ from the in-process run", j.Name)
		}
	}
}

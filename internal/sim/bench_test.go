package sim

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/berth-sched/berth/internal/sim/workload"
	"github.com/berth-sched/berth/manifests"
)

// benchWorkload is the speed target's size: nodes of one shape in three zones, pods of
// four priorities and three QoS classes arriving 20 ms apart, each running 5 to 15
// minutes, so that the cluster fills, pods end and new ones take their place.
func benchWorkload(nodes, pods int) *workload.Workload {
	w := &workload.Workload{Namespaces: []*v1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "default"}}}}
	for i := 0; i < nodes; i++ {
		name := fmt.Sprintf("n%04d", i)
		w.Nodes = append(w.Nodes, st.MakeNode().Name(name).Label(v1.LabelHostname, name).Label(v1.LabelTopologyZone, fmt.Sprintf("zone-%d", i%3)).
			Capacity(map[v1.ResourceName]string{"cpu": "32", "memory": "128Gi", "pods": "110"}).Obj())
	}
	prios := []int32{100, 1000, 10000, 1000000}
	for i := 0; i < pods; i++ {
		p := st.MakePod().Namespace("default").Name(fmt.Sprintf("p%05d", i)).Priority(prios[i%4]).Containers([]v1.Container{{Name: "app", Image: "pause"}}).Obj()
		switch i % 3 {
		case 1:
			p.Spec.Containers[0].Resources.Requests = v1.ResourceList{"cpu": resource.MustParse(fmt.Sprintf("%dm", 500+(i%7)*500)), "memory": resource.MustParse(fmt.Sprintf("%dMi", 512+(i%5)*1024))}
			p.Spec.Containers[0].Resources.Limits = v1.ResourceList{"memory": resource.MustParse("16Gi")}
		case 2:
			r := v1.ResourceList{"cpu": resource.MustParse(fmt.Sprintf("%dm", 500+(i%7)*500)), "memory": resource.MustParse(fmt.Sprintf("%dMi", 512+(i%5)*1024))}
			p.Spec.Containers[0].Resources.Requests, p.Spec.Containers[0].Resources.Limits = r, r
		}
		w.Pods = append(w.Pods, workload.Pod{Pod: p, Arrival: time.Duration(i) * 20 * time.Millisecond, Duration: time.Duration(300+i%600) * time.Second})
	}
	return w
}

// BenchmarkReplay is the speed target: 1000 nodes × 10,000 pods under four
// configurations (upstream's default profile, berth's recommended profile, and berth's
// with PriorityPlacement weighted 1 and 4), the configurations in parallel worker
// processes, one per CPU. It reports wall seconds per comparison and pods per second.
func BenchmarkReplay(b *testing.B) {
	w := benchWorkload(1000, 10000)
	berth := manifests.SchedulerConfig
	var jobs []Job
	jobs = append(jobs, Job{Name: "default", Config: []byte(DefaultConfig), Seed: 1}, Job{Name: "berth", Config: berth, Seed: 1})
	for _, weight := range []string{"1", "4"} {
		s := Sweep{Plugin: "PriorityPlacement", Path: "weight", Values: []string{weight}}
		cfg, err := ApplySettings(berth, Grid([]Sweep{s})[0])
		if err != nil {
			b.Fatal(err)
		}
		jobs = append(jobs, Job{Name: "berth weight " + weight, Config: cfg, Seed: 1})
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		results, err := RunParallel(context.Background(), w, jobs, ParallelOptions{Parallel: runtime.NumCPU()})
		if err != nil {
			b.Fatal(err)
		}
		var rss int64
		var cpu time.Duration
		for _, r := range results {
			rss = max(rss, r.PeakRSSBytes)
			cpu += r.CPU
		}
		b.ReportMetric(float64(rss)/(1<<20), "worker-peak-RSS-MiB")
		// CPU seconds of all workers: what the comparison costs whatever else the
		// machine runs; on two idle cores the wall time is about half of it.
		b.ReportMetric(cpu.Seconds(), "worker-cpu-s/op")
		b.ReportMetric(time.Since(start).Seconds(), "wall-s/op")
		b.ReportMetric(float64(len(w.Pods)*len(jobs))/time.Since(start).Seconds(), "pods/s")
	}
}

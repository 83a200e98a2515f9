//go:debug randseednop=0

package sim

import (
	"context"
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	st "k8s.io/kubernetes/pkg/scheduler/testing"

	"github.com/berth-sched/berth/internal/sim/workload"
	"github.com/berth-sched/berth/manifests"
	"github.com/berth-sched/berth/pkg/plugins"
)

func smokeWorkload() *workload.Workload {
	w := &workload.Workload{Namespaces: []*v1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "default"}}}}
	for i := 0; i < 4; i++ {
		w.Nodes = append(w.Nodes, st.MakeNode().Name(fmt.Sprintf("n%d", i)).Label(v1.LabelHostname, fmt.Sprintf("n%d", i)).
			Capacity(map[v1.ResourceName]string{"cpu": "4", "memory": "8Gi", "pods": "110"}).Obj())
	}
	for i := 0; i < 40; i++ {
		prio := int32(100)
		if i%10 == 9 {
			prio = 100000
		}
		p := st.MakePod().Namespace("default").Name(fmt.Sprintf("p%02d", i)).Priority(prio).
			Req(map[v1.ResourceName]string{"cpu": "1", "memory": "1Gi"}).Obj()
		p.Spec.Containers[0].Resources.Limits = v1.ResourceList{"cpu": resource.MustParse("1"), "memory": resource.MustParse("1Gi")}
		w.Pods = append(w.Pods, workload.Pod{Pod: p, Arrival: time.Duration(i) * time.Second, Duration: 30 * time.Second})
	}
	return w
}

func TestSmoke(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  []byte
	}{{"default", []byte(DefaultConfig)}, {"berth", manifests.SchedulerConfig}} {
		cfg, err := LoadConfig(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 2; k++ {
			res, err := Run(context.Background(), smokeWorkload(), cfg, Options{Registry: plugins.Registry(), Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			counts := map[Outcome]int{}
			for _, p := range res.Pods {
				counts[p.Outcome]++
			}
			t.Logf("%s: %v attempts=%d end=%v wall=%v events=%d", c.name, counts, res.Attempts, res.End, res.Wall, len(res.Events))
			for i, p := range res.Pods[:12] {
				t.Logf("  p%02d %+v", i, p)
			}
		}
	}
}

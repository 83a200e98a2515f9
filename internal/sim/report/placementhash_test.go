package report

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/berth-sched/berth/internal/sim"
	"github.com/berth-sched/berth/internal/sim/workload"
)

// hashStory: c pending, b bound at 0 and evicted by c at 2.5s, a bound at 1.2345s.
// order lists the workload's pods.
func hashStory(order ...string) *story {
	var pods []podSpec
	for _, name := range order {
		pods = append(pods, podSpec{name: name})
	}
	s := newStory(makeWorkload([]*v1.Node{node("n1", "4", "4Gi", "")}, nil, pods...)).
		bind("b", "n1", 0).bind("a", "n1", 1).preempt("b", "c").end("b", 2.5)
	s.res.Pods[s.idx["a"]].BoundAt = 1234500 * time.Microsecond
	return s
}

func hashOf(t *testing.T, w *workload.Workload, res *sim.Result) string {
	t.Helper()
	f, err := newFacts(w, MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return f.placementHash(res)
}

func TestPlacementHashIsSHA256OfTheDocumentedLines(t *testing.T) {
	m, err := hashStory("c", "b", "a").measure("r", MeasureOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by name; times in rounded milliseconds (1234.5 rounds up), -1 for never.
	lines := "default/a\trunning\tn1\t1235\t-1\t\n" +
		"default/b\tpreempted\tn1\t0\t2500\tdefault/c\n" +
		"default/c\tpending\t\t-1\t-1\t\n"
	sum := sha256.Sum256([]byte(lines))
	if want := hex.EncodeToString(sum[:]); m.PlacementHash != want {
		t.Errorf("placementHash = %s, want %s", m.PlacementHash, want)
	}
}

func TestPlacementHashChangesWithPlacementsOnly(t *testing.T) {
	base := hashStory("c", "b", "a")
	baseHash := hashOf(t, base.w, base.res)
	for _, c := range []struct {
		name string
		edit func(r *sim.Result, i map[string]int)
		same bool
	}{
		{"more attempts and another message", func(r *sim.Result, i map[string]int) {
			r.Pods[i["c"]].Attempts, r.Pods[i["c"]].Message, r.Attempts = 9, "other", 99
		}, true},
		{"other wall time and events", func(r *sim.Result, _ map[string]int) { r.Wall, r.Events = time.Hour, []sim.Event{{Reason: "x"}} }, true},
		{"bind time within the same millisecond", func(r *sim.Result, i map[string]int) { r.Pods[i["a"]].BoundAt += 400 * time.Microsecond }, true},
		{"bind time a millisecond later", func(r *sim.Result, i map[string]int) { r.Pods[i["a"]].BoundAt += time.Millisecond }, false},
		{"another node", func(r *sim.Result, i map[string]int) { r.Pods[i["a"]].Node = "n2" }, false},
		{"another outcome", func(r *sim.Result, i map[string]int) { r.Pods[i["a"]].Outcome = sim.Completed }, false},
		{"another end time", func(r *sim.Result, i map[string]int) { r.Pods[i["b"]].EndedAt = 3 * time.Second }, false},
		{"evicted by another pod", func(r *sim.Result, i map[string]int) { r.Pods[i["b"]].PreemptedBy = "default/a" }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := hashStory("c", "b", "a")
			c.edit(s.res, s.idx)
			if got := hashOf(t, s.w, s.res) == baseHash; got != c.same {
				t.Errorf("same hash = %v, want %v", got, c.same)
			}
		})
	}
}

func TestPlacementHashDoesNotDependOnWorkloadOrder(t *testing.T) {
	a, b := hashStory("c", "b", "a"), hashStory("a", "c", "b")
	if ha, hb := hashOf(t, a.w, a.res), hashOf(t, b.w, b.res); ha != hb {
		t.Errorf("hashes differ: %s vs %s", ha, hb)
	}
}

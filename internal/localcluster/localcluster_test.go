package localcluster

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/server/healthz"
)

// nodeSimulatorGoroutinesWithoutStop are the goroutines KWOK v0.8.0 starts and never
// ends (see startNodeSimulator), by the function they block in, and how many one
// simulator leaves.
var nodeSimulatorGoroutinesWithoutStop = map[string]int{
	"sigs.k8s.io/kwok/pkg/utils/queue.(*weightDelayingQueue[...]).loopWorker":       2,
	"k8s.io/apimachinery/pkg/watch.(*Broadcaster).loop":                             1,
	"k8s.io/client-go/tools/record.(*eventBroadcasterImpl).StartEventWatcher.func1": 1,
}

// TestStopLeavesNoGoroutines runs a cluster through what berth-local and the tests do
// (simulated node and pod, apply, API server restart) and checks that after Stop no
// goroutine it started is left, but for KWOK's known ones. This is what would have made
// the goroutine dump once seen at the end of an e2e run; it also covers testServerTB,
// whose cleanups end each API server.
func TestStopLeavesNoGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a control plane")
	}
	// The API server's health check starts one goroutine per process, on first use, as
	// upstream's own leak checks note (test/integration/framework/goleak.go): start it
	// before taking the baseline.
	_ = healthz.LogHealthz.Check(nil)
	before := settledGoroutineProfile(t)

	c, err := Start(Options{Dir: t.TempDir(), SimulateNodes: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.AddNodes(ctx, Node("leak-node", simResources, "")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, []byte("apiVersion: v1\nkind: Pod\nmetadata: {name: leak-pod, namespace: default}\nspec:\n  nodeName: leak-node\n  containers: [{name: app, image: registry.k8s.io/pause:3.10}]\n")); err != nil {
		t.Fatal(err)
	}
	simWaitFor(t, ctx, 30*time.Second, "leak-pod Running", func() (bool, error) {
		p, err := c.Client.CoreV1().Pods("default").Get(ctx, "leak-pod", metav1.GetOptions{})
		return err == nil && p.Status.Phase == v1.PodRunning, err
	})
	c.StopAPIServer()
	if err := c.StartAPIServer(); err != nil {
		t.Fatal(err)
	}
	c.Stop()

	// Some goroutines end a moment after Stop returns, e.g. the watch cache's wake-ups,
	// which wait out their 3s timeout.
	var (
		leaked    []string
		simulator map[string]int
	)
	deadline := time.Now().Add(20 * time.Second)
	for {
		leaked, simulator = newGoroutines(before, goroutineProfile(t))
		if len(leaked) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, g := range leaked {
		t.Errorf("goroutine left after Stop:\n%s", g)
	}
	// KWOK's own are exactly the ones startNodeSimulator documents.
	for top, want := range nodeSimulatorGoroutinesWithoutStop {
		if simulator[top] != want {
			t.Errorf("the node simulator left %d goroutines in %s, want %d: has KWOK changed? (see startNodeSimulator)", simulator[top], top, want)
		}
	}
}

// settledGoroutineProfile is the goroutine profile once two readings in a row agree, so
// that goroutines just started have reached the place where they wait.
func settledGoroutineProfile(t *testing.T) map[string]goroutineGroup {
	t.Helper()
	last := goroutineProfile(t)
	for i := 0; i < 50; i++ {
		time.Sleep(20 * time.Millisecond)
		next := goroutineProfile(t)
		if equalProfiles(last, next) {
			return next
		}
		last = next
	}
	return last
}

func equalProfiles(a, b map[string]goroutineGroup) bool {
	added, addedSim := newGoroutines(a, b)
	removed, removedSim := newGoroutines(b, a)
	return len(added)+len(addedSim)+len(removed)+len(removedSim) == 0
}

// goroutineGroup is one stack of the goroutine profile: how many goroutines are in it,
// its pprof labels and the function on top.
type goroutineGroup struct {
	count  int
	labels string
	top    string
	text   string
}

var (
	profileCount = regexp.MustCompile(`^(\d+) @`)
	profileFrame = regexp.MustCompile(`^#\t0x[0-9a-f]+\t(\S+)\+0x[0-9a-f]+\t`)
)

// goroutineProfile reads the goroutine profile (debug=1: goroutines grouped by stack,
// with labels), keyed by labels and stack.
func goroutineProfile(t *testing.T) map[string]goroutineGroup {
	t.Helper()
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		t.Fatal(err)
	}
	groups := map[string]goroutineGroup{}
	for _, block := range strings.Split(buf.String(), "\n\n") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		m := profileCount.FindStringSubmatch(lines[0])
		if m == nil {
			continue // the header
		}
		var g goroutineGroup
		fmt.Sscan(m[1], &g.count)
		g.text = block
		for _, line := range lines[1:] {
			if strings.HasPrefix(line, "# labels: ") {
				g.labels = strings.TrimPrefix(line, "# labels: ")
			} else if f := profileFrame.FindStringSubmatch(line); f != nil && g.top == "" {
				g.top = f[1]
			}
		}
		key := strings.TrimPrefix(lines[0], m[1]) + g.labels
		groups[key] = g
	}
	return groups
}

// newGoroutines compares two goroutine profiles: the stacks with more goroutines after
// than before, but for the node simulator's known ones, which it counts by the function
// they block in.
func newGoroutines(before, after map[string]goroutineGroup) (unknown []string, simulator map[string]int) {
	simulator = map[string]int{}
	for key, g := range after {
		n := g.count - before[key].count
		if n <= 0 {
			continue
		}
		if g.labels == `{"berth-localcluster":"node-simulator"}` {
			if _, known := nodeSimulatorGoroutinesWithoutStop[g.top]; known {
				simulator[g.top] += n
				continue
			}
		}
		unknown = append(unknown, fmt.Sprintf("%d more:\n%s", n, g.text))
	}
	return unknown, simulator
}

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/berth-sched/berth/cmd/berth-local/app"
	"github.com/berth-sched/berth/test/harness"
)

// row is one line of berth-local's placement table.
type row struct{ scheduler, priority, qos, node string }

// parseTable reads the rows between the header and the first blank line.
func parseTable(out string) map[string]row {
	rows := map[string]row{}
	in := false
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "POD ") {
			in = true
			continue
		}
		if !in {
			continue
		}
		if strings.TrimSpace(line) == "" {
			break
		}
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		rows[f[0]] = row{scheduler: f[1], priority: f[2], qos: f[3], node: strings.Join(f[4:], " ")}
	}
	return rows
}

// TestMakeRunOncePrintsPlacementTable runs berth-local's --once mode (what `make run
// ARGS=--once` does) on a control plane of its own, and checks that the table shows each
// berth plugin's effect on the example workload.
func TestMakeRunOncePrintsPlacementTable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err := app.Run(ctx, app.Options{
		SchedulerBinary: binary,
		WorkDir:         t.TempDir(),
		Nodes:           3,
		Once:            true,
		SettleTimeout:   90 * time.Second,
		Out:             &out,
	})
	t.Logf("berth-local output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	rows := parseTable(out.String())
	get := func(pod string) row {
		r, ok := rows[pod]
		if !ok {
			t.Errorf("no row for %s", pod)
		}
		return r
	}
	bound := regexp.MustCompile(`^node-`)

	want := map[string]row{
		"critical-a":         {"berth-scheduler", "1000000", "Guaranteed", ""},
		"high-burstable":     {"berth-scheduler", "10000", "Burstable", ""},
		"default-besteffort": {"berth-scheduler", "1000", "BestEffort", ""},
		"batch-1":            {"berth-scheduler", "100", "Burstable", ""},
	}
	for pod, w := range want {
		r := get(pod)
		if r.scheduler != w.scheduler || r.priority != w.priority || r.qos != w.qos || !bound.MatchString(r.node) {
			t.Errorf("%s: %+v, want scheduler %s priority %s QoS %s on a node", pod, r, w.scheduler, w.priority, w.qos)
		}
	}
	// PriorityPlacement: critical pods spread, batch pods pack.
	if a, b := get("critical-a").node, get("critical-b").node; a == b {
		t.Errorf("critical-a and critical-b share %s: critical pods should spread", a)
	}
	if n1, n2, n3 := get("batch-1").node, get("batch-2").node, get("batch-3").node; n1 != n2 || n2 != n3 {
		t.Errorf("batch pods on %s, %s, %s: low-priority pods should pack onto one node", n1, n2, n3)
	}
	// Each filter's reason, as a user reads it.
	for pod, reason := range map[string]string{
		"batch-wants-reserved-pool": "reserved for pods with priority >= 1000000",                  // PriorityTaints
		"batch-over-headroom":       "node keeps 25 percent of cpu for pods with priority >= 1000", // PriorityHeadroom
		"default-memory-overcommit": "pod's memory limit 13Gi exceeds the 12Gi allowed",            // QoSPlacement
		"not-opted-in":              "not berth's",
	} {
		if r := get(pod); !strings.HasPrefix(r.node, "Pending:") || !strings.Contains(r.node, reason) {
			t.Errorf("%s: %q, want Pending with %q", pod, r.node, reason)
		}
	}
	// QoSAwarePreemption: the Burstable victim goes, the later-started Guaranteed stays.
	if r := get("critical-preemptor"); r.node != app.PreemptionNode {
		t.Errorf("critical-preemptor on %q, want %s", r.node, app.PreemptionNode)
	}
	if r := get("victim-guaranteed"); r.node != app.PreemptionNode {
		t.Errorf("victim-guaranteed on %q, want it kept on %s", r.node, app.PreemptionNode)
	}
	if _, ok := rows["victim-burstable"]; ok {
		t.Errorf("victim-burstable still listed: it should have been preempted")
	}
	// One line per victim: upstream's event (preemptor by UID) with berth's detail.
	preempted := regexp.MustCompile(`(?m)^  victim-burstable: Preempted by pod [0-9a-f-]{36} on node ` + app.PreemptionNode +
		`; preemptor berth-demo/critical-preemptor \(priority \d+\); victim QoS Burstable$`)
	if n := len(preempted.FindAllString(out.String(), -1)); n != 1 {
		t.Errorf("output lists the preemption of victim-burstable %d times, want once", n)
	}
	if n := strings.Count(out.String(), "  victim-burstable: "); n != 1 {
		t.Errorf("output has %d Preempted lines for victim-burstable, want 1", n)
	}
	if !regexp.MustCompile(`kubeconfig: \S+`).Match(out.Bytes()) {
		t.Errorf("output does not say where the kubeconfig is")
	}
}

// lockedBuffer is an io.Writer the test can read while berth-local writes to it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestMakeRunStopsEverythingOnInterrupt is `make run` without --once: it keeps the
// cluster up until interrupted (cmd/berth-local turns Ctrl-C into the end of ctx), then
// stops the scheduler and the control plane and returns cleanly.
func TestMakeRunStopsEverythingOnInterrupt(t *testing.T) {
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	out := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, app.Options{
			SchedulerBinary: binary,
			WorkDir:         t.TempDir(),
			Nodes:           1,
			SettleTimeout:   90 * time.Second,
			Out:             out,
		})
	}()
	err := wait.PollUntilContextTimeout(context.Background(), harness.Poll, 3*time.Minute, true, func(context.Context) (bool, error) {
		select {
		case err := <-done:
			return false, fmt.Errorf("returned before the interrupt: %v", err)
		default:
		}
		return strings.Contains(out.String(), "Press Ctrl-C"), nil
	})
	if err != nil {
		t.Fatalf("never reached the waiting state: %v\n%s", err, out.String())
	}
	pid := regexp.MustCompile(`berth-scheduler running \(pid (\d+)`).FindStringSubmatch(out.String())
	if pid == nil {
		t.Fatalf("output does not name the scheduler's pid:\n%s", out.String())
	}
	interrupt()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("berth-local returned %v after the interrupt", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("berth-local still running 30s after the interrupt")
	}
	if _, err := os.Stat("/proc/" + pid[1]); !os.IsNotExist(err) {
		t.Errorf("berth-scheduler (pid %s) still running after berth-local returned", pid[1])
	}
}

package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/berth-sched/berth/internal/sim/workload"
)

// Placement is one line of placements.jsonl: what happened to one pod in one run.
type Placement struct {
	Run string `json:"run"`
	// Pod is namespace/name; Group, the scenario group or trace it comes from.
	Pod   string `json:"pod"`
	Group string `json:"group"`
	// Outcome is pending, running, completed or preempted; Node is "" when pending.
	Outcome string `json:"outcome"`
	Node    string `json:"node"`
	// Virtual times in seconds from the start of the run; bound and ended are null for
	// never.
	ArrivalSeconds float64  `json:"arrivalSeconds"`
	BoundSeconds   *float64 `json:"boundSeconds"`
	EndedSeconds   *float64 `json:"endedSeconds"`
	Attempts       int      `json:"attempts"`
	// Victims are the pods this pod's preemption evicted; PreemptedBy, the pod whose
	// preemption evicted this one ("" for none).
	Victims     []string `json:"victims"`
	PreemptedBy string   `json:"preemptedBy"`
	// Message is the last FailedScheduling message of a pod pending at the end.
	Message string `json:"message"`
}

// WritePlacements writes placements.jsonl: one JSON object per line, for each run in
// order, each workload pod in workload order.
func WritePlacements(out io.Writer, w *workload.Workload, runs []Run) error {
	bw := bufio.NewWriter(out)
	enc := json.NewEncoder(bw)
	for _, r := range runs {
		if r.Result == nil || len(r.Result.Pods) != len(w.Pods) {
			return fmt.Errorf("run %q has no result for each of the workload's %d pods", r.Name, len(w.Pods))
		}
		for i := range w.Pods {
			p, res := &w.Pods[i], &r.Result.Pods[i]
			line := Placement{
				Run: r.Name, Pod: p.Name(), Group: p.Group, Outcome: string(res.Outcome), Node: res.Node,
				ArrivalSeconds: p.Arrival.Seconds(), BoundSeconds: secondsOrNull(res.BoundAt), EndedSeconds: secondsOrNull(res.EndedAt),
				Attempts: res.Attempts, Victims: res.Victims, PreemptedBy: res.PreemptedBy, Message: res.Message,
			}
			if line.Victims == nil {
				line.Victims = []string{}
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

func secondsOrNull(d time.Duration) *float64 {
	if d < 0 {
		return nil
	}
	s := d.Seconds()
	return &s
}

// readPlacements reads the placements of one run from placements.jsonl.
func readPlacements(in io.Reader, run string) ([]Placement, error) {
	// Unknown keys are skipped: later versions may add some.
	dec := json.NewDecoder(bufio.NewReader(in))
	var out []Placement
	for line := 1; ; line++ {
		var p Placement
		if err := dec.Decode(&p); err == io.EOF {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("placement %d: %w", line, err)
		}
		if p.Run == run {
			out = append(out, p)
		}
	}
}

package sim

import (
	"strings"
	"testing"
)

// TestExplanationNamesNoVictimsAndNoChoiceWithoutPreemption: an attempt whose
// PostFilter preempted nothing, and one whose preemption evicted no pod, print neither
// an empty "preempting" list nor a chosen candidate.
func TestExplanationNamesNoVictimsAndNoChoiceWithoutPreemption(t *testing.T) {
	const reason = "not eligible due to a terminating pod on the nominated node."
	attempts := []Attempt{
		{Number: 1, Pod: "default/p", Outcome: AttemptOutcome{Result: "nominated", Node: "n1"}},
		{Number: 2, Pod: "default/p",
			Outcome:    AttemptOutcome{Result: "unschedulable", Message: "0/2 nodes are available: 2 Insufficient cpu. preemption: " + reason, KeepsNomination: "n1"},
			Preemption: &PreemptionVerdict{Plugin: "QoSAwarePreemption", Reason: reason}},
	}
	var b strings.Builder
	if err := WriteExplanation(&b, "t", attempts, 5); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Attempt 1 at 0:00:00.000: nominated to n1 without evicting any pod\n",
		"stays nominated to n1 by an earlier attempt's preemption; this attempt preempted nothing",
		"Preemption (QoSAwarePreemption): none in this attempt; the pod may not preempt now: " + reason,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explanation lacks %q:\n%s", want, out)
		}
	}
	for _, bad := range []string{"preempting \n", "chosen"} {
		if strings.Contains(out, bad) {
			t.Errorf("explanation shows %q:\n%s", bad, out)
		}
	}
}

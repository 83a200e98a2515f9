package cyclestate

import (
	"errors"
	"strings"
	"testing"

	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

type written struct{ n int }

func (w *written) Clone() fwk.StateData { return w }

type other struct{}

func (o *other) Clone() fwk.StateData { return o }

func TestReadReturnsWhatThePluginWrote(t *testing.T) {
	cs := framework.NewCycleState()
	cs.Write("PreFilterX", &written{n: 7})
	got, err := Read[*written](cs, "PreFilterX", "preFilter")
	if err != nil || got.n != 7 {
		t.Errorf("Read = %v, %v; want the written state", got, err)
	}
}

func TestReadWithoutTheStateNamesTheExtensionPoint(t *testing.T) {
	_, err := Read[*written](framework.NewCycleState(), "PreScoreX", "preScore")
	if err == nil || !errors.Is(err, fwk.ErrNotFound) {
		t.Fatalf("Read of a missing key = %v, want an error wrapping ErrNotFound", err)
	}
	if want := `reading "PreScoreX" from cycleState (is the plugin enabled at preScore as well?)`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
}

func TestReadOfAnotherTypeSaysWhich(t *testing.T) {
	cs := framework.NewCycleState()
	cs.Write("PreFilterX", &other{})
	_, err := Read[*written](cs, "PreFilterX", "preFilter")
	if want := `invalid preFilter state "PreFilterX": got type *cyclestate.other, want *cyclestate.written`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestWritePlacementsWritesOneLinePerPodPerRun(t *testing.T) {
	w, runs := comparison()
	var b bytes.Buffer
	if err := WritePlacements(&b, w, runs); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 10 {
		t.Fatalf("%d lines, want 5 pods x 2 runs", len(lines))
	}
	want := []string{
		`{"run":"default","pod":"default/b1","group":"g","outcome":"preempted","node":"n1","arrivalSeconds":0,"boundSeconds":0,"endedSeconds":6,"attempts":1,"victims":[],"preemptedBy":"default/c2","message":""}`,
		`{"run":"default","pod":"default/b2","group":"g","outcome":"running","node":"n1","arrivalSeconds":0,"boundSeconds":0,"endedSeconds":null,"attempts":1,"victims":[],"preemptedBy":"","message":""}`,
		`{"run":"default","pod":"default/c1","group":"g","outcome":"running","node":"n2","arrivalSeconds":1,"boundSeconds":1,"endedSeconds":null,"attempts":1,"victims":[],"preemptedBy":"","message":""}`,
		`{"run":"default","pod":"default/b3","group":"g","outcome":"pending","node":"","arrivalSeconds":2,"boundSeconds":null,"endedSeconds":null,"attempts":2,"victims":[],"preemptedBy":"","message":"0/2 nodes are available: 2 Insufficient cpu."}`,
		`{"run":"default","pod":"default/c2","group":"g","outcome":"running","node":"n1","arrivalSeconds":5,"boundSeconds":6,"endedSeconds":null,"attempts":1,"victims":["default/b1"],"preemptedBy":"","message":""}`,
	}
	if d := cmp.Diff(want, lines[5:]); d != "" {
		t.Errorf("default's lines (-want +got):\n%s", d)
	}
	if !strings.HasPrefix(lines[0], `{"run":"berth","pod":"default/b1",`) {
		t.Errorf("first line %s, want berth's b1", lines[0])
	}

	got, err := readPlacements(bytes.NewReader(b.Bytes()), "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || got[4].Pod != "default/c2" || *got[4].BoundSeconds != 6 || got[3].BoundSeconds != nil {
		t.Errorf("read back %+v", got)
	}
}

func TestWritePlacementsRejectsARunWithoutResults(t *testing.T) {
	w, runs := comparison()
	runs[1].Result = nil
	err := WritePlacements(&bytes.Buffer{}, w, runs)
	if err == nil || !strings.Contains(err.Error(), `run "default" has no result`) {
		t.Errorf("error = %v", err)
	}
}

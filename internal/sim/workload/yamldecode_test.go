package workload

import (
	"strings"
	"testing"
)

const oneNode = "nodeGroups: [{name: n, count: 1, cpu: 1, memory: 1Gi}]\n"

func TestDecodeAliasesExpandLikeTheirAnchors(t *testing.T) {
	w, err := ParseScenario("s.yaml", []byte(oneNode+`
podGroups:
- name: a
  count: 1
  tolerations: &reserved
  - {key: berth.io/reserved, operator: Exists}
  requests: &small {cpu: 100m}
- name: b
  count: 1
  tolerations: *reserved
  requests: *small
`), 1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := w.Pods[0].Pod.Spec, w.Pods[1].Pod.Spec
	if len(b.Tolerations) != 1 || b.Tolerations[0] != a.Tolerations[0] || b.Containers[0].Resources.Requests.Cpu().String() != "100m" {
		t.Errorf("b: tolerations %v requests %v, want a's", b.Tolerations, b.Containers[0].Resources.Requests)
	}
}

func TestDecodeAliasExpansionIsBounded(t *testing.T) {
	// Each level doubles the values: 2^26 once expanded.
	var b strings.Builder
	b.WriteString(oneNode + "podGroups:\n- name: a\n  count: 1\n  tolerations:\n  - &x0 [a, a]\n")
	for i := 1; i <= 24; i++ {
		b.WriteString("  - &x" + itoa(i) + " [*x" + itoa(i-1) + ", *x" + itoa(i-1) + "]\n")
	}
	_, err := ParseScenario("s.yaml", []byte(b.String()), 1)
	if err == nil || !strings.Contains(err.Error(), "more than 262144 values once aliases are expanded") {
		t.Errorf("error %v, want the expansion refused", err)
	}
}

func TestDecodeNullIsAbsent(t *testing.T) {
	w, err := ParseScenario("s.yaml", []byte("nodeGroups: [{name: n, count: 1, cpu: 1, memory: 1Gi, pods: ~, labels: null}]\npodGroups:\n"), 1)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Nodes[0].Status.Allocatable.Pods().Value(); got != DefaultMaxPods {
		t.Errorf("pods %d, want the default %d", got, DefaultMaxPods)
	}
}

func TestDecodeRefusesWhatJSONCannotHold(t *testing.T) {
	for _, c := range []struct{ name, yaml, want string }{
		{"a list as a key", oneNode + "? [a]\n: b\n", "s.yaml:2: a key must be a plain string"},
		{"a repeated key in a free-form map", oneNode + "podGroups:\n- name: a\n  count: 1\n  labels: {x: a, x: b}\n", `s.yaml:5: podGroups[0].labels: field "x" appears twice (first on line 5)`},
		{"a custom tag", oneNode + "podGroups:\n- name: a\n  count: 1\n  tolerations: [{key: !secret k}]\n", "s.yaml:5: podGroups[0].tolerations[0].key: unsupported YAML tag !secret"},
		{"infinity", oneNode + "podGroups:\n- name: a\n  count: 1\n  requests: {cpu: .inf}\n", "s.yaml:5: podGroups[0].requests[cpu]: .inf is not a finite number"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseScenario("s.yaml", []byte(c.yaml), 1)
			if err == nil || err.Error() != c.want {
				t.Errorf("error %v\nwant %s", err, c.want)
			}
		})
	}
}

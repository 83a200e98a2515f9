package workload

import (
	"reflect"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"sigs.k8s.io/yaml"

	"github.com/berth-sched/berth/manifests"
)

// shippedTiers are the PriorityClasses of manifests/examples/priorityclasses.yaml,
// their preemption policies defaulted.
func shippedTiers(t *testing.T) map[string]*schedulingv1.PriorityClass {
	t.Helper()
	data, err := manifests.Examples.ReadFile("examples/priorityclasses.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shipped := map[string]*schedulingv1.PriorityClass{}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		pc := &schedulingv1.PriorityClass{}
		if err := yaml.Unmarshal([]byte(doc), pc); err != nil {
			t.Fatal(err)
		}
		if errs := createPriorityClass(pc); len(errs) > 0 {
			t.Fatal(errs)
		}
		shipped[pc.Name] = pc
	}
	return shipped
}

// The default mapping uses the tiers berth ships, with their values and policies.
func TestDefaultOpenBMappingUsesTheShippedTiers(t *testing.T) {
	shipped := shippedTiers(t)
	for qos, c := range DefaultOpenBMapping().QoS {
		pc, ok := shipped[c.PriorityClass]
		if !ok || pc.Value != c.Value || *pc.PreemptionPolicy != c.PreemptionPolicy {
			t.Errorf("%s: %s %d %s, shipped: %+v", qos, c.PriorityClass, c.Value, c.PreemptionPolicy, pc)
		}
	}
}

func TestParseOpenBMapping(t *testing.T) {
	m, err := ParseOpenBMapping(" BE=spot:50:besteffort:Never , gpu=milli,neverRan=keep,limitFactor=1.5,maxPods=64,namespace=trace," +
		"gpuResource=amd.com/gpu,gpuMilliResource=example.com/gpu-milli,modelLabel=gpu.example.com/model,")
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultOpenBMapping()
	want.QoS["BE"] = OpenBClass{PriorityClass: "spot", Value: 50, PreemptionPolicy: v1.PreemptNever, Shape: ShapeBestEffort}
	want.GPU, want.NeverRan, want.LimitFactor, want.MaxPods, want.Namespace = GPUMilli, NeverRanKeep, 1.5, 64, "trace"
	want.GPUResource, want.GPUMilliResource, want.ModelLabel = "amd.com/gpu", "example.com/gpu-milli", "gpu.example.com/model"
	if !reflect.DeepEqual(m, want) {
		t.Errorf("%+v\nwant %+v", m, want)
	}
	if DefaultOpenBMapping().QoS["BE"].PriorityClass != "berth-batch" {
		t.Error("an override changed the default mapping")
	}
}

func TestParseOpenBMappingEmptyIsTheDefault(t *testing.T) {
	m, err := ParseOpenBMapping("")
	if err != nil || !reflect.DeepEqual(m, DefaultOpenBMapping()) {
		t.Errorf("%+v %v", m, err)
	}
}

func TestOpenBMappingStringReadsBack(t *testing.T) {
	for _, spec := range []string{"", "BE=spot:50:besteffort:Never,gpu=milli,limitFactor=1.25"} {
		m := mustMapping(t, spec)
		back, err := ParseOpenBMapping(m.String())
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Errorf("%q: String %q read back as %+v, %v", spec, m.String(), back, err)
		}
	}
	want := "LS=berth-high:10000:guaranteed:PreemptLowerPriority,Guaranteed=berth-default:1000:guaranteed:PreemptLowerPriority," +
		"Burstable=berth-default:1000:burstable:PreemptLowerPriority,BE=berth-batch:100:requests-only:Never,gpu=whole,neverRan=skip," +
		"limitFactor=2,maxPods=110,namespace=default,gpuResource=nvidia.com/gpu,gpuMilliResource=alibabacloud.com/gpu-milli,modelLabel=nvidia.com/gpu.product"
	if got := DefaultOpenBMapping().String(); got != want {
		t.Errorf("default %q\nwant %q", got, want)
	}
}

func TestParseOpenBMappingErrors(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{"gpu", `openb mapping "gpu": want KEY=VALUE; keys: ` + openBKeys},
		{"GPU=milli", `openb mapping "GPU=milli": unknown key "GPU"; keys: ` + openBKeys},
		{"BE=batch:besteffort", `openb mapping "BE=batch:besteffort": want CLASS:VALUE:SHAPE[:POLICY], e.g. berth-batch:100:besteffort:Never`},
		{"BE=batch:low:besteffort", `openb mapping "BE=batch:low:besteffort": the PriorityClass value "low" must be a whole number, e.g. 100`},
		{"limitFactor=twice", `openb mapping "limitFactor=twice": limitFactor must be a number, e.g. 2 or 1.5`},
		{"maxPods=many", `openb mapping "maxPods=many": maxPods must be a whole number, e.g. 110`},
		{"BE=batch:100:none", `openb mapping: BE: unsupported shape "none": must be guaranteed, burstable, requests-only or besteffort`},
		{"BE=batch:100:besteffort:never", `openb mapping: BE: PriorityClass preemptionPolicy: Unsupported value: "never": supported values: "PreemptLowerPriority", "Never"`},
		{"BE=Batch:100:besteffort", `openb mapping: BE: PriorityClass metadata.name: Invalid value: "Batch": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`},
		{"BE=berth-high:5:besteffort", `openb mapping: BE: PriorityClass berth-high has value 10000 and policy PreemptLowerPriority elsewhere in the mapping`},
		{"LS=x:2000000000:guaranteed", `openb mapping: LS: PriorityClass value: Forbidden: maximum allowed value of a user defined priority is 1000000000`},
		{"gpu=half", `openb mapping: gpu: unsupported value "half": must be whole or milli`},
		{"neverRan=maybe", `openb mapping: neverRan: unsupported value "maybe": must be skip or keep`},
		{"limitFactor=0.5", `openb mapping: limitFactor: 0.5: must be a number, 1 or more`},
		{"limitFactor=NaN", `openb mapping: limitFactor: NaN: must be a number, 1 or more`},
		{"maxPods=0", `openb mapping: maxPods: 0: must be at least 1`},
		{"gpuResource=gpu", `openb mapping: gpuResource: "gpu" is not an extended resource name (a domain-qualified name outside kubernetes.io, e.g. nvidia.com/gpu)`},
		{"modelLabel=a b", `openb mapping: modelLabel: "a b": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`},
		{"namespace=Trace", `openb mapping: namespace: "Trace": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
	} {
		t.Run(c.spec, func(t *testing.T) {
			_, err := ParseOpenBMapping(c.spec)
			if err == nil || err.Error() != c.want {
				t.Errorf("error %v\nwant %s", err, c.want)
			}
		})
	}
}

func TestReadOpenBValidatesTheMapping(t *testing.T) {
	m := DefaultOpenBMapping()
	m.GPU = "half"
	if _, err := readOpenB(t, openBNodes, openBPods, m); err == nil || !strings.Contains(err.Error(), `gpu: unsupported value "half"`) {
		t.Errorf("error %v", err)
	}
}

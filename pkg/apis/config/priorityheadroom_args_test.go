package config

import (
	"os"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func TestPriorityHeadroomArgsValidate(t *testing.T) {
	res := func(below int32, pct map[v1.ResourceName]int32) HeadroomReservation {
		return HeadroomReservation{BelowPriority: ptr.To(below), ReservePercent: pct}
	}
	tests := []struct {
		name string
		args PriorityHeadroomArgs
		// wantErrs are substrings, one per expected error, in order.
		wantErrs []string
	}{
		{
			name: "no reservations is valid (the plugin does nothing)",
			args: PriorityHeadroomArgs{},
		},
		{
			name: "the documented example is valid",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(1000000, map[v1.ResourceName]int32{"cpu": 10, "memory": 10}),
				res(1000, map[v1.ResourceName]int32{"cpu": 25, "memory": 25}),
			}},
		},
		{
			name: "pods, ephemeral-storage, hugepages, extended resources and bounds 0, 100 and negative priorities are valid",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(0, map[v1.ResourceName]int32{"pods": 0, "ephemeral-storage": 100}),
				res(-5, map[v1.ResourceName]int32{"hugepages-2Mi": 50, "example.com/gpu": 50}),
			}},
		},
		{
			name: "belowPriority is required",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				{ReservePercent: map[v1.ResourceName]int32{"cpu": 10}},
			}},
			wantErrs: []string{"args.reservations[0].belowPriority: Required value"},
		},
		{
			name: "belowPriority must be unique",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(1000, map[v1.ResourceName]int32{"cpu": 10}),
				res(1000, map[v1.ResourceName]int32{"memory": 10}),
			}},
			wantErrs: []string{"args.reservations[1].belowPriority: Duplicate value: 1000"},
		},
		{
			name: "reservePercent needs at least one resource",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(1000, nil),
			}},
			wantErrs: []string{"args.reservations[0].reservePercent: Required value: at least one resource (pods, cpu, memory"},
		},
		{
			name: "percent above 100 is rejected",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(1000, map[v1.ResourceName]int32{"cpu": 120}),
			}},
			wantErrs: []string{"args.reservations[0].reservePercent[cpu]: Invalid value: 120: must be between 0 and 100"},
		},
		{
			name: "negative percent is rejected",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(1000, map[v1.ResourceName]int32{"memory": -1}),
			}},
			wantErrs: []string{"args.reservations[0].reservePercent[memory]: Invalid value: -1: must be between 0 and 100"},
		},
		{
			name: "an unknown unqualified resource name is rejected with the allowed names",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(1000, map[v1.ResourceName]int32{"gpu": 10}),
			}},
			wantErrs: []string{`args.reservations[0].reservePercent[gpu]: Invalid value: "gpu": must be pods, cpu, memory, ephemeral-storage, hugepages-<size> (e.g. hugepages-2Mi) or an extended resource`},
		},
		{
			// A container may request hugepages-foo (its name passes resource-name
			// validation), but no node advertises it: the reservation would hold
			// nothing back.
			name: "hugepages without a page size is rejected",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(1000, map[v1.ResourceName]int32{"hugepages-foo": 10}),
			}},
			wantErrs: []string{`args.reservations[0].reservePercent[hugepages-foo]: Invalid value: "hugepages-foo": hugepages must name a page size, e.g. hugepages-2Mi or hugepages-1Gi`},
		},
		{
			name: "a kubernetes.io name that is no node resource is rejected",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(1000, map[v1.ResourceName]int32{"kubernetes.io/batteries": 10}),
			}},
			wantErrs: []string{`args.reservations[0].reservePercent[kubernetes.io/batteries]: Invalid value: "kubernetes.io/batteries": must be pods, cpu, memory, ephemeral-storage, hugepages-<size>`},
		},
		{
			name: "hugepages-1Gi and a vendor's extended resource are valid",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(1000, map[v1.ResourceName]int32{"hugepages-1Gi": 10, "nvidia.com/gpu": 25}),
			}},
		},
		{
			name: "a malformed resource name is rejected",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(1000, map[v1.ResourceName]int32{"example.com/GPU$": 10}),
			}},
			wantErrs: []string{"args.reservations[0].reservePercent[example.com/GPU$]: Invalid value"},
		},
		{
			name: "a quota-style requests. name is rejected",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(1000, map[v1.ResourceName]int32{"requests.cpu": 10}),
			}},
			wantErrs: []string{"args.reservations[0].reservePercent[requests.cpu]: Invalid value"},
		},
		{
			name: "every error of every reservation is reported",
			args: PriorityHeadroomArgs{Reservations: []HeadroomReservation{
				res(7, map[v1.ResourceName]int32{"cpu": 101, "memory": 200}),
				res(7, map[v1.ResourceName]int32{"bogus": 5}),
			}},
			wantErrs: []string{
				"args.reservations[0].reservePercent[cpu]: Invalid value: 101",
				"args.reservations[0].reservePercent[memory]: Invalid value: 200",
				"args.reservations[1].belowPriority: Duplicate value: 7",
				"args.reservations[1].reservePercent[bogus]: Invalid value",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectErrors(t, tt.args.Validate(field.NewPath("args")), tt.wantErrs)
		})
	}
}

func TestPriorityHeadroomArgsDecode(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		yaml    bool
		want    []int32 // belowPriority of each decoded reservation
		wantErr string
	}{
		{
			name: "no args decode to no reservations",
			raw:  ``,
		},
		{
			name: "YAML reservations decode",
			raw: `
reservations:
- belowPriority: 1000000
  reservePercent: {cpu: 10, memory: 10}
- belowPriority: 1000
  reservePercent: {cpu: 25, memory: 25}
`,
			yaml: true,
			want: []int32{1000000, 1000},
		},
		{
			name:    "an unknown top-level field is rejected",
			raw:     `{"reservation": []}`,
			wantErr: `unknown field reservation`,
		},
		{
			name:    "an unknown field inside a reservation is rejected",
			raw:     `{"reservations": [{"belowPriority": 5, "reservePercent": {"cpu": 1}, "percent": 3}]}`,
			wantErr: `unknown field percent`,
		},
		{
			name:    "a fractional percent is rejected",
			raw:     `{"reservations": [{"belowPriority": 5, "reservePercent": {"cpu": 1.5}}]}`,
			wantErr: "PriorityHeadroom: args.reservations[0].reservePercent[cpu]: number 1.5 is not allowed here, want an integer",
		},
		{
			name:    "validation errors name the plugin and the field",
			raw:     `{"reservations": [{"belowPriority": 5, "reservePercent": {"cpu": 120}}]}`,
			wantErr: "PriorityHeadroom: args.reservations[0].reservePercent[cpu]: Invalid value: 120: must be between 0 and 100",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := rawArgs(tt.raw, tt.yaml)
			var args PriorityHeadroomArgs
			err := Decode("PriorityHeadroom", obj, &args)
			if expectDecodeError(t, err, tt.wantErr) {
				return
			}
			if len(args.Reservations) != len(tt.want) {
				t.Fatalf("decoded %d reservations, want %d", len(args.Reservations), len(tt.want))
			}
			for i, w := range tt.want {
				if got := *args.Reservations[i].BelowPriority; got != w {
					t.Errorf("reservations[%d].belowPriority = %d, want %d", i, got, w)
				}
			}
		})
	}
}

// docs/plugins.md quotes the errors of an invalid reservation; the quotes must be the
// messages berth-scheduler prints, not an older or upstream wording.
func TestPluginDocsQuoteTheHeadroomErrorsAsPrinted(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/plugins.md")
	if err != nil {
		t.Fatal(err)
	}
	args := PriorityHeadroomArgs{Reservations: []HeadroomReservation{
		{BelowPriority: ptr.To[int32](1000), ReservePercent: map[v1.ResourceName]int32{"cpu": 120, "gpu": 10}},
	}}
	errs := args.Validate(field.NewPath("args"))
	if len(errs) != 2 {
		t.Fatalf("Validate = %v, want an error for cpu and one for gpu", errs)
	}
	for _, e := range errs {
		if !strings.Contains(string(doc), e.Error()) {
			t.Errorf("docs/plugins.md does not quote %q", e.Error())
		}
	}
}

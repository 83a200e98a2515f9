package config

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func TestQoSAwarePreemptionArgsDefault(t *testing.T) {
	var a QoSAwarePreemptionArgs
	a.Default()
	if a.GuaranteedPriorityGap != 0 {
		t.Errorf("guaranteedPriorityGap defaulted to %d, want 0 (off)", a.GuaranteedPriorityGap)
	}
	if got := [3]int64{*a.QoSCost.BestEffort, *a.QoSCost.Burstable, *a.QoSCost.Guaranteed}; got != [3]int64{1, 2, 4} {
		t.Errorf("qosCost defaulted to %v, want [1 2 4]", got)
	}
	if *a.MinCandidateNodesPercentage != 10 || *a.MinCandidateNodesAbsolute != 100 {
		t.Errorf("minCandidateNodes defaulted to %d%%/%d, want upstream's 10%%/100",
			*a.MinCandidateNodesPercentage, *a.MinCandidateNodesAbsolute)
	}

	// Explicit values, zeros included, survive defaulting.
	b := QoSAwarePreemptionArgs{
		QoSCost:                     QoSCost{Guaranteed: ptr.To[int64](9)},
		MinCandidateNodesPercentage: ptr.To[int32](0),
		MinCandidateNodesAbsolute:   ptr.To[int32](5),
	}
	b.Default()
	if *b.QoSCost.BestEffort != 1 || *b.QoSCost.Burstable != 2 || *b.QoSCost.Guaranteed != 9 {
		t.Errorf("partially set qosCost defaulted to %d/%d/%d, want 1/2/9",
			*b.QoSCost.BestEffort, *b.QoSCost.Burstable, *b.QoSCost.Guaranteed)
	}
	if *b.MinCandidateNodesPercentage != 0 || *b.MinCandidateNodesAbsolute != 5 {
		t.Errorf("explicit minCandidateNodes changed to %d/%d", *b.MinCandidateNodesPercentage, *b.MinCandidateNodesAbsolute)
	}
}

func TestQoSAwarePreemptionArgsValidate(t *testing.T) {
	cost := func(be, bu, g int64) QoSCost {
		return QoSCost{BestEffort: ptr.To(be), Burstable: ptr.To(bu), Guaranteed: ptr.To(g)}
	}
	defaulted := func(mod func(*QoSAwarePreemptionArgs)) QoSAwarePreemptionArgs {
		var a QoSAwarePreemptionArgs
		a.Default()
		mod(&a)
		return a
	}
	tests := []struct {
		name string
		args QoSAwarePreemptionArgs
		// wantErrs are substrings, one per expected error, in order.
		wantErrs []string
	}{
		{
			name: "the defaults are valid",
			args: defaulted(func(*QoSAwarePreemptionArgs) {}),
		},
		{
			name: "a positive gap and equal costs are valid",
			args: defaulted(func(a *QoSAwarePreemptionArgs) {
				a.GuaranteedPriorityGap = 1000
				a.QoSCost = cost(3, 3, 3)
			}),
		},
		{
			name:     "a negative gap is rejected",
			args:     defaulted(func(a *QoSAwarePreemptionArgs) { a.GuaranteedPriorityGap = -1 }),
			wantErrs: []string{"args.guaranteedPriorityGap: Invalid value: -1: must be >= 0 (0 turns the rule off)"},
		},
		{
			name: "a gap up to system-cluster-critical's priority is valid",
			args: defaulted(func(a *QoSAwarePreemptionArgs) { a.GuaranteedPriorityGap = 2000000000 }),
		},
		{
			name:     "a gap beyond system-cluster-critical's priority is rejected",
			args:     defaulted(func(a *QoSAwarePreemptionArgs) { a.GuaranteedPriorityGap = 2000000001 }),
			wantErrs: []string{"args.guaranteedPriorityGap: Invalid value: 2000000001: must be <= 2000000000 (system-cluster-critical"},
		},
		{
			name: "a zero or negative cost is rejected, naming the class",
			args: defaulted(func(a *QoSAwarePreemptionArgs) { a.QoSCost = cost(0, 2, -4) }),
			wantErrs: []string{
				"args.qosCost.bestEffort: Invalid value: 0: must be >= 1",
				"args.qosCost.guaranteed: Invalid value: -4: must be >= 1",
			},
		},
		{
			name: "an unset cost is required (Validate before Default)",
			args: QoSAwarePreemptionArgs{
				QoSCost:                     QoSCost{BestEffort: ptr.To[int64](1), Burstable: ptr.To[int64](2)},
				MinCandidateNodesPercentage: ptr.To[int32](10),
				MinCandidateNodesAbsolute:   ptr.To[int32](100),
			},
			wantErrs: []string{"args.qosCost.guaranteed: Required value"},
		},
		{
			name:     "costs out of order are rejected: burstable below bestEffort",
			args:     defaulted(func(a *QoSAwarePreemptionArgs) { a.QoSCost = cost(5, 2, 8) }),
			wantErrs: []string{"args.qosCost.burstable: Invalid value: 2: must be >= qosCost.bestEffort (5): costs must satisfy bestEffort <= burstable <= guaranteed"},
		},
		{
			name:     "costs out of order are rejected: guaranteed below burstable",
			args:     defaulted(func(a *QoSAwarePreemptionArgs) { a.QoSCost = cost(1, 4, 2) }),
			wantErrs: []string{"args.qosCost.guaranteed: Invalid value: 2: must be >= qosCost.burstable (4)"},
		},
		{
			name:     "minCandidateNodesPercentage above 100 is rejected by upstream's validation",
			args:     defaulted(func(a *QoSAwarePreemptionArgs) { a.MinCandidateNodesPercentage = ptr.To[int32](101) }),
			wantErrs: []string{"args.minCandidateNodesPercentage: Invalid value: 101: not in valid range [0, 100]"},
		},
		{
			name:     "a negative minCandidateNodesAbsolute is rejected by upstream's validation",
			args:     defaulted(func(a *QoSAwarePreemptionArgs) { a.MinCandidateNodesAbsolute = ptr.To[int32](-1) }),
			wantErrs: []string{"args.minCandidateNodesAbsolute: Invalid value: -1"},
		},
		{
			name: "both minCandidate fields zero is rejected, as upstream does",
			args: defaulted(func(a *QoSAwarePreemptionArgs) {
				a.MinCandidateNodesPercentage = ptr.To[int32](0)
				a.MinCandidateNodesAbsolute = ptr.To[int32](0)
			}),
			wantErrs: []string{
				"args.minCandidateNodesPercentage: Invalid value: 0: cannot be zero at the same time as minCandidateNodesAbsolute",
				"args.minCandidateNodesAbsolute: Invalid value: 0: cannot be zero at the same time as minCandidateNodesPercentage",
			},
		},
		{
			name: "unset minCandidate fields are required (Validate before Default)",
			args: QoSAwarePreemptionArgs{QoSCost: cost(1, 2, 4)},
			wantErrs: []string{
				"args.minCandidateNodesPercentage: Required value",
				"args.minCandidateNodesAbsolute: Required value",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectErrors(t, tt.args.Validate(field.NewPath("args")), tt.wantErrs)
		})
	}
}

func TestQoSAwarePreemptionArgsDecode(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		yaml     bool
		wantGap  int64
		wantCost [3]int64
		wantPct  int32
		wantAbs  int32
		wantErr  string
	}{
		{
			name:     "no args decode to the defaults",
			wantCost: [3]int64{1, 2, 4}, wantPct: 10, wantAbs: 100,
		},
		{
			name: "the documented YAML decodes",
			raw: `
guaranteedPriorityGap: 1000
qosCost: {bestEffort: 1, burstable: 3, guaranteed: 10}
minCandidateNodesPercentage: 20
minCandidateNodesAbsolute: 50
`,
			yaml:    true,
			wantGap: 1000, wantCost: [3]int64{1, 3, 10}, wantPct: 20, wantAbs: 50,
		},
		{
			name:     "a partial qosCost keeps the other defaults",
			raw:      `{"qosCost": {"guaranteed": 8}}`,
			wantCost: [3]int64{1, 2, 8}, wantPct: 10, wantAbs: 100,
		},
		{
			name:    "an unknown top-level field is rejected",
			raw:     `{"guaranteedPriorityGapp": 5}`,
			wantErr: `unknown field guaranteedPriorityGapp`,
		},
		{
			name:    "an unknown QoS class in qosCost is rejected",
			raw:     `{"qosCost": {"bestEffort": 1, "bursty": 1}}`,
			wantErr: `unknown field bursty`,
		},
		{
			name:    "validation errors name the plugin and the field",
			raw:     `{"guaranteedPriorityGap": -3}`,
			wantErr: "QoSAwarePreemption: args.guaranteedPriorityGap: Invalid value: -3: must be >= 0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := rawArgs(tt.raw, tt.yaml)
			var args QoSAwarePreemptionArgs
			err := Decode("QoSAwarePreemption", obj, &args)
			if expectDecodeError(t, err, tt.wantErr) {
				return
			}
			if args.GuaranteedPriorityGap != tt.wantGap {
				t.Errorf("guaranteedPriorityGap = %d, want %d", args.GuaranteedPriorityGap, tt.wantGap)
			}
			if got := [3]int64{*args.QoSCost.BestEffort, *args.QoSCost.Burstable, *args.QoSCost.Guaranteed}; got != tt.wantCost {
				t.Errorf("qosCost = %v, want %v", got, tt.wantCost)
			}
			if *args.MinCandidateNodesPercentage != tt.wantPct || *args.MinCandidateNodesAbsolute != tt.wantAbs {
				t.Errorf("minCandidateNodes = %d%%/%d, want %d%%/%d",
					*args.MinCandidateNodesPercentage, *args.MinCandidateNodesAbsolute, tt.wantPct, tt.wantAbs)
			}
		})
	}
}

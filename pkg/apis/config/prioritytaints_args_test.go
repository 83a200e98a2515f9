package config

import (
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func TestPriorityTaintsArgsValidate(t *testing.T) {
	rule := func(key, value string, min int32) PriorityTaintRule {
		return PriorityTaintRule{Key: key, Value: value, MinPriority: ptr.To(min)}
	}
	tests := []struct {
		name string
		args PriorityTaintsArgs
		// wantErrs are substrings, one per expected error, in order.
		wantErrs []string
	}{
		{
			name: "no rules is valid (the plugin does nothing)",
			args: PriorityTaintsArgs{},
		},
		{
			name: "the documented example is valid",
			args: PriorityTaintsArgs{Rules: []PriorityTaintRule{rule("berth.io/reserved", "critical", 1000000)}},
		},
		{
			name: "an unprefixed key, an empty value and negative, zero and extreme priorities are valid",
			args: PriorityTaintsArgs{Rules: []PriorityTaintRule{
				rule("dedicated", "", 0),
				rule("dedicated", "gpu", -2147483648),
				rule("example.com/pool", "a_b-c.d", 2147483647),
			}},
		},
		{
			name:     "key is required",
			args:     PriorityTaintsArgs{Rules: []PriorityTaintRule{rule("", "critical", 1)}},
			wantErrs: []string{"args.rules[0].key: Required value"},
		},
		{
			name:     "a key that is not a valid taint key is rejected",
			args:     PriorityTaintsArgs{Rules: []PriorityTaintRule{rule("berth.io/reserved pool", "", 1)}},
			wantErrs: []string{`args.rules[0].key: Invalid value: "berth.io/reserved pool"`},
		},
		{
			name:     "a key with an invalid prefix is rejected",
			args:     PriorityTaintsArgs{Rules: []PriorityTaintRule{rule("Berth_IO/reserved", "", 1)}},
			wantErrs: []string{`args.rules[0].key: Invalid value: "Berth_IO/reserved"`},
		},
		{
			name:     "a value that is not a valid taint value is rejected",
			args:     PriorityTaintsArgs{Rules: []PriorityTaintRule{rule("berth.io/reserved", "not ok", 1)}},
			wantErrs: []string{`args.rules[0].value: Invalid value: "not ok"`},
		},
		{
			name:     "minPriority is required",
			args:     PriorityTaintsArgs{Rules: []PriorityTaintRule{{Key: "berth.io/reserved"}}},
			wantErrs: []string{"args.rules[0].minPriority: Required value"},
		},
		{
			name: "two rules for the same key and value are rejected",
			args: PriorityTaintsArgs{Rules: []PriorityTaintRule{
				rule("berth.io/reserved", "critical", 1000),
				rule("berth.io/reserved", "critical", 2000),
			}},
			wantErrs: []string{`args.rules[1]: Duplicate value: "berth.io/reserved=critical"`},
		},
		{
			name: "the same key with different values is not a duplicate",
			args: PriorityTaintsArgs{Rules: []PriorityTaintRule{
				rule("berth.io/reserved", "critical", 1000),
				rule("berth.io/reserved", "", 10),
			}},
		},
		{
			name: "every error of every rule is reported",
			args: PriorityTaintsArgs{Rules: []PriorityTaintRule{
				{Value: "bad value"},
				{Key: "-x"},
			}},
			wantErrs: []string{
				"args.rules[0].key: Required value",
				"args.rules[0].value: Invalid value",
				"args.rules[0].minPriority: Required value",
				"args.rules[1].key: Invalid value",
				"args.rules[1].minPriority: Required value",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectErrors(t, tt.args.Validate(field.NewPath("args")), tt.wantErrs)
		})
	}
}

func TestPriorityTaintsArgsDecode(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		yaml    bool
		want    []PriorityTaintRule
		wantErr string
	}{
		{
			name: "no args decode to no rules",
		},
		{
			name: "YAML rules decode",
			raw: `
rules:
- key: berth.io/reserved
  value: critical
  minPriority: 1000000
- key: berth.io/soft
  minPriority: 1000
`,
			yaml: true,
			want: []PriorityTaintRule{
				{Key: "berth.io/reserved", Value: "critical", MinPriority: ptr.To[int32](1000000)},
				{Key: "berth.io/soft", MinPriority: ptr.To[int32](1000)},
			},
		},
		{
			name:    "an unknown top-level field is rejected",
			raw:     `{"rule": []}`,
			wantErr: `unknown field rule`,
		},
		{
			name:    "an unknown field inside a rule is rejected",
			raw:     `{"rules": [{"key": "a", "minPriority": 5, "effect": "NoSchedule"}]}`,
			wantErr: `unknown field effect`,
		},
		{
			name:    "a minPriority beyond int32 is rejected",
			raw:     `{"rules": [{"key": "a", "minPriority": 3000000000}]}`,
			wantErr: "PriorityTaints: args.rules[0].minPriority: number 3000000000 is not allowed here",
		},
		{
			name:    "validation errors name the plugin and the field",
			raw:     `{"rules": [{"key": "a"}]}`,
			wantErr: "PriorityTaints: args.rules[0].minPriority: Required value",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := rawArgs(tt.raw, tt.yaml)
			var args PriorityTaintsArgs
			err := Decode("PriorityTaints", obj, &args)
			if expectDecodeError(t, err, tt.wantErr) {
				return
			}
			if len(args.Rules) != len(tt.want) {
				t.Fatalf("decoded %d rules, want %d", len(args.Rules), len(tt.want))
			}
			for i, w := range tt.want {
				got := args.Rules[i]
				if got.Key != w.Key || got.Value != w.Value || *got.MinPriority != *w.MinPriority {
					t.Errorf("rules[%d] = {%s %s %d}, want {%s %s %d}", i, got.Key, got.Value, *got.MinPriority, w.Key, w.Value, *w.MinPriority)
				}
			}
		})
	}
}

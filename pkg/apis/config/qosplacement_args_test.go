package config

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func TestQoSPlacementArgsValidate(t *testing.T) {
	tests := []struct {
		name    string
		percent *int32
		wantErr string
	}{
		{name: "unset is valid (defaulted to 150)"},
		{name: "0 turns the guard off", percent: ptr.To[int32](0)},
		{name: "100 (no overcommit of limits) is the lowest bound", percent: ptr.To[int32](100)},
		{name: "150 is valid", percent: ptr.To[int32](150)},
		{name: "1000 is the highest bound", percent: ptr.To[int32](1000)},
		{name: "99 is rejected", percent: ptr.To[int32](99),
			wantErr: "args.maxMemoryLimitOvercommitPercent: Invalid value: 99: must be 0 (guard off) or between 100 and 1000"},
		{name: "1 is rejected", percent: ptr.To[int32](1),
			wantErr: "args.maxMemoryLimitOvercommitPercent: Invalid value: 1: must be 0 (guard off) or between 100 and 1000"},
		{name: "1001 is rejected", percent: ptr.To[int32](1001),
			wantErr: "args.maxMemoryLimitOvercommitPercent: Invalid value: 1001"},
		{name: "negative is rejected", percent: ptr.To[int32](-150),
			wantErr: "args.maxMemoryLimitOvercommitPercent: Invalid value: -150"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := QoSPlacementArgs{MaxMemoryLimitOvercommitPercent: tt.percent}
			errs := args.Validate(field.NewPath("args"))
			if tt.wantErr == "" {
				if len(errs) != 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.wantErr) {
				t.Fatalf("errors = %v, want one containing %q", errs, tt.wantErr)
			}
		})
	}
}

func TestQoSPlacementArgsDecode(t *testing.T) {
	tests := []struct {
		name    string
		raw     string
		yaml    bool
		want    int32
		wantErr string
	}{
		{name: "no args default to 150", want: 150},
		{name: "an empty object defaults to 150", raw: `{}`, want: 150},
		{name: "an explicit 0 stays 0 (guard off)", raw: `{"maxMemoryLimitOvercommitPercent": 0}`, want: 0},
		{name: "YAML decodes", raw: "maxMemoryLimitOvercommitPercent: 200\n", yaml: true, want: 200},
		{name: "an unknown field is rejected", raw: `{"maxMemoryOvercommitPercent": 200}`,
			wantErr: `unknown field maxMemoryOvercommitPercent`},
		{name: "a fractional percent is rejected", raw: `{"maxMemoryLimitOvercommitPercent": 150.5}`,
			wantErr: "QoSPlacement: args.maxMemoryLimitOvercommitPercent: number 150.5 is not allowed here, want an integer"},
		{name: "validation errors name the plugin and the field", raw: `{"maxMemoryLimitOvercommitPercent": 50}`,
			wantErr: "QoSPlacement: args.maxMemoryLimitOvercommitPercent: Invalid value: 50"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := rawArgs(tt.raw, tt.yaml)
			var args QoSPlacementArgs
			err := Decode("QoSPlacement", obj, &args)
			if expectDecodeError(t, err, tt.wantErr) {
				return
			}
			if got := *args.MaxMemoryLimitOvercommitPercent; got != tt.want {
				t.Errorf("maxMemoryLimitOvercommitPercent = %d, want %d", got, tt.want)
			}
		})
	}
}

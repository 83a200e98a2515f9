package config

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/utils/ptr"
)

func TestPriorityPlacementArgsValidate(t *testing.T) {
	tests := []struct {
		name string
		args PriorityPlacementArgs
		// wantErrs are substrings, one per expected error, in order.
		wantErrs []string
	}{
		{
			name: "the defaults are valid",
			args: PriorityPlacementArgs{CriticalPriority: ptr.To[int32](1000000), PackBelowPriority: ptr.To[int32](1000)},
		},
		{
			name: "equal bounds (no neutral band) are valid",
			args: PriorityPlacementArgs{CriticalPriority: ptr.To[int32](0), PackBelowPriority: ptr.To[int32](0)},
		},
		{
			name: "negative priorities and a zone key are valid",
			args: PriorityPlacementArgs{CriticalPriority: ptr.To[int32](-5), PackBelowPriority: ptr.To[int32](-10), SpreadTopologyKey: "topology.kubernetes.io/zone"},
		},
		{
			name: "an unprefixed label key is valid",
			args: PriorityPlacementArgs{CriticalPriority: ptr.To[int32](10), PackBelowPriority: ptr.To[int32](1), SpreadTopologyKey: "rack"},
		},
		{
			name:     "packBelowPriority above criticalPriority overlaps the bands",
			args:     PriorityPlacementArgs{CriticalPriority: ptr.To[int32](1000), PackBelowPriority: ptr.To[int32](1001)},
			wantErrs: []string{"args.packBelowPriority: Invalid value: 1001: must be less than or equal to criticalPriority (1000)"},
		},
		{
			name:     "a topology key with spaces is rejected",
			args:     PriorityPlacementArgs{CriticalPriority: ptr.To[int32](10), PackBelowPriority: ptr.To[int32](1), SpreadTopologyKey: "my zone"},
			wantErrs: []string{`args.spreadTopologyKey: Invalid value: "my zone": must be "" (spread per node) or a valid label key`},
		},
		{
			name:     "a topology key with a bad prefix is rejected",
			args:     PriorityPlacementArgs{CriticalPriority: ptr.To[int32](10), PackBelowPriority: ptr.To[int32](1), SpreadTopologyKey: "Bad_Prefix/zone"},
			wantErrs: []string{`args.spreadTopologyKey: Invalid value: "Bad_Prefix/zone": must be "" (spread per node) or a valid label key`},
		},
		{
			name: "unset priorities are reported as required",
			args: PriorityPlacementArgs{},
			wantErrs: []string{
				"args.criticalPriority: Required value",
				"args.packBelowPriority: Required value",
			},
		},
		{
			name: "every error is reported",
			args: PriorityPlacementArgs{CriticalPriority: ptr.To[int32](1), PackBelowPriority: ptr.To[int32](2), SpreadTopologyKey: "-zone"},
			wantErrs: []string{
				"args.packBelowPriority: Invalid value: 2",
				`args.spreadTopologyKey: Invalid value: "-zone"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectErrors(t, tt.args.Validate(field.NewPath("args")), tt.wantErrs)
		})
	}
}

func TestPriorityPlacementArgsDecode(t *testing.T) {
	tests := []struct {
		name          string
		obj           runtime.Object
		wantCritical  int32
		wantPackBelow int32
		wantKey       string
		wantErr       string
	}{
		{
			name:          "no args decode to the defaults",
			wantCritical:  1000000,
			wantPackBelow: 1000,
		},
		{
			name:          "empty args decode to the defaults",
			obj:           &runtime.Unknown{Raw: []byte(`{}`)},
			wantCritical:  1000000,
			wantPackBelow: 1000,
		},
		{
			name:          "YAML args decode and unset fields keep their defaults",
			obj:           &runtime.Unknown{ContentType: runtime.ContentTypeYAML, Raw: []byte("spreadTopologyKey: topology.kubernetes.io/zone\npackBelowPriority: 0\n")},
			wantCritical:  1000000,
			wantPackBelow: 0,
			wantKey:       "topology.kubernetes.io/zone",
		},
		{
			name:          "JSON args decode",
			obj:           &runtime.Unknown{Raw: []byte(`{"criticalPriority": 2000, "packBelowPriority": -1}`)},
			wantCritical:  2000,
			wantPackBelow: -1,
		},
		{
			name:    "an unknown field is rejected",
			obj:     &runtime.Unknown{Raw: []byte(`{"criticalPriorty": 5}`)},
			wantErr: `unknown field criticalPriorty`,
		},
		{
			name:    "a priority outside int32 is rejected",
			obj:     &runtime.Unknown{Raw: []byte(`{"criticalPriority": 3000000000}`)},
			wantErr: "PriorityPlacement: args.criticalPriority: number 3000000000 is not allowed here, want an integer from -2147483648 to 2147483647",
		},
		{
			name:    "a packBelowPriority above the default criticalPriority names both fields",
			obj:     &runtime.Unknown{Raw: []byte(`{"packBelowPriority": 2000000}`)},
			wantErr: "PriorityPlacement: args.packBelowPriority: Invalid value: 2000000: must be less than or equal to criticalPriority (1000000)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args PriorityPlacementArgs
			err := Decode("PriorityPlacement", tt.obj, &args)
			if expectDecodeError(t, err, tt.wantErr) {
				return
			}
			if *args.CriticalPriority != tt.wantCritical || *args.PackBelowPriority != tt.wantPackBelow || args.SpreadTopologyKey != tt.wantKey {
				t.Errorf("decoded criticalPriority=%d packBelowPriority=%d spreadTopologyKey=%q, want %d %d %q",
					*args.CriticalPriority, *args.PackBelowPriority, args.SpreadTopologyKey, tt.wantCritical, tt.wantPackBelow, tt.wantKey)
			}
		})
	}
}

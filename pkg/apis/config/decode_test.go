package config

import (
	"strings"
	"testing"
	"unicode"

	"k8s.io/apimachinery/pkg/runtime"
)

// argsTypes are every berth plugin's args type, by plugin name.
var argsTypes = map[string]func() Args{
	"PriorityHeadroom":   func() Args { return &PriorityHeadroomArgs{} },
	"PriorityTaints":     func() Args { return &PriorityTaintsArgs{} },
	"PriorityPlacement":  func() Args { return &PriorityPlacementArgs{} },
	"QoSPlacement":       func() Args { return &QoSPlacementArgs{} },
	"QoSAwarePreemption": func() Args { return &QoSAwarePreemptionArgs{} },
}

// caseVariants are the wrong-case spellings users type: the first letter raised, all
// lower, all upper (those that differ from name).
func caseVariants(name string) []string {
	r := []rune(name)
	r[0] = unicode.ToUpper(r[0])
	var out []string
	for _, v := range []string{string(r), strings.ToLower(name), strings.ToUpper(name)} {
		if v != name && !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestDecodeRejectsEveryFieldInTheWrongCase: the framework decodes field names
// case-sensitively, so `GuaranteedPriorityGap` is not `guaranteedPriorityGap`; it must
// be an error naming the plugin, the field and the right spelling, never a setting
// dropped in silence. Every field of every plugin, nested ones included.
func TestDecodeRejectsEveryFieldInTheWrongCase(t *testing.T) {
	for plugin, newArgs := range argsTypes {
		for _, path := range FieldPaths(newArgs()) {
			name := path[len(path)-1]
			for _, variant := range caseVariants(name) {
				t.Run(plugin+"/"+strings.Join(path, ".")+"/"+variant, func(t *testing.T) {
					for _, yaml := range []bool{false, true} {
						raw := RawWithField(newArgs(), path, variant, "1")
						u := &runtime.Unknown{Raw: []byte(raw)}
						if yaml {
							u.ContentType = runtime.ContentTypeYAML
						}
						err := Decode(plugin, u, newArgs())
						want := plugin + ": args."
						wantField := "unknown field " + variant + " (did you mean " + name + "?)"
						if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), wantField) {
							t.Errorf("%s: Decode(%s) = %v, want an error containing %q and %q", map[bool]string{false: "JSON", true: "YAML"}[yaml], raw, err, want, wantField)
						}
					}
				})
			}
		}
	}
}

func TestDecodeNamesTheFieldAndWhatIsAllowed(t *testing.T) {
	cases := []struct {
		name, plugin, raw string
		args              Args
		want              string
	}{
		{"a field given twice", "QoSAwarePreemption", `{"guaranteedPriorityGap": 1, "guaranteedPriorityGap": 2}`, &QoSAwarePreemptionArgs{},
			`QoSAwarePreemption: args.guaranteedPriorityGap: duplicate field guaranteedPriorityGap`},
		{"a map key given twice", "PriorityHeadroom", `{"reservations": [{"belowPriority": 1, "reservePercent": {"cpu": 10, "cpu": 20}}]}`, &PriorityHeadroomArgs{},
			`PriorityHeadroom: args.reservations[0].reservePercent.cpu: duplicate field cpu`},
		{"a misspelt field two edits away", "PriorityTaints", `{"rules": [{"minPrority": 1}]}`, &PriorityTaintsArgs{},
			`PriorityTaints: args.rules[0].minPrority: unknown field minPrority (did you mean minPriority?); allowed: key, value, minPriority`},
		{"a wrong-case required field is an unknown field, not a missing one", "PriorityTaints", `{"rules": [{"key": "k", "minpriority": 1}]}`, &PriorityTaintsArgs{},
			`args.rules[0].minpriority: unknown field minpriority (did you mean minPriority?)`},
		{"a string where a number goes", "QoSAwarePreemption", `{"guaranteedPriorityGap": "high"}`, &QoSAwarePreemptionArgs{},
			`QoSAwarePreemption: args.guaranteedPriorityGap: string is not allowed here, want an integer`},
		{"a list for the args themselves", "QoSPlacement", `[150]`, &QoSPlacementArgs{},
			`QoSPlacement: args: must be an object (a map of fields); allowed: maxMemoryLimitOvercommitPercent`},
		{"a number for the args themselves", "QoSPlacement", `150`, &QoSPlacementArgs{},
			`QoSPlacement: args: must be an object (a map of fields); allowed: maxMemoryLimitOvercommitPercent`},
		{"a list for the args of a plugin without arguments", "PriorityQoSSort", `["x"]`, &NoArgs{},
			`PriorityQoSSort: args: must be an object (a map of fields); this plugin takes no arguments`},
		{"a number where a map of resources goes", "PriorityHeadroom", `{"reservations": [{"belowPriority": 1, "reservePercent": 10}]}`, &PriorityHeadroomArgs{},
			`PriorityHeadroom: args.reservations[0].reservePercent: number is not allowed here, want an object (a map of names to values, each an integer from -2147483648 to 2147483647)`},
		{"a string where a list item goes", "PriorityHeadroom", `{"reservations": ["cpu"]}`, &PriorityHeadroomArgs{},
			`PriorityHeadroom: args.reservations[0]: string is not allowed here, want an object (a map of fields); allowed: belowPriority, reservePercent`},
		{"a list where a list item goes", "PriorityTaints", `{"rules": [["k"]]}`, &PriorityTaintsArgs{},
			`PriorityTaints: args.rules[0]: array is not allowed here, want an object (a map of fields); allowed: key, value, minPriority`},
		{"a value out of int32 in the second list item", "PriorityHeadroom", `{"reservations": [{"belowPriority": 1, "reservePercent": {"cpu": 10}}, {"belowPriority": 3000000000}]}`, &PriorityHeadroomArgs{},
			`PriorityHeadroom: args.reservations[1].belowPriority: number 3000000000 is not allowed here`},
		{"a string for a map value names its key", "PriorityHeadroom", `{"reservations": [{"belowPriority": 1, "reservePercent": {"cpu": 10, "example.com/gpu": "all"}}]}`, &PriorityHeadroomArgs{},
			`PriorityHeadroom: args.reservations[0].reservePercent[example.com/gpu]: string is not allowed here, want an integer`},
		{"any field for a plugin without arguments", "PriorityQoSSort", `{"order": "reversed"}`, &NoArgs{},
			`PriorityQoSSort: args.order: unknown field order; this plugin takes no arguments`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Decode(tc.plugin, &runtime.Unknown{Raw: []byte(tc.raw)}, tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Decode = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

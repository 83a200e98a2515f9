// Package config holds the typed arguments of berth's plugins: their fields, defaults
// and validation. The field names are berth's public configuration API.
package config

import (
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"sigs.k8s.io/yaml"
)

// Args is what every berth plugin's arguments implement.
type Args interface {
	// Default fills in unset fields.
	Default()
	// Validate reports every invalid field under path (the plugin's args).
	Validate(path *field.Path) field.ErrorList
}

// Decode turns the args the framework hands a plugin factory into a defaulted, valid
// args value. It decodes with the framework's DecodeInto and additionally rejects
// unknown fields (a misspelt argument must not be silently ignored), then defaults and
// validates. Errors name the plugin and the field, e.g.
// `PriorityHeadroom: args.reservations[0].reservePercent[cpu]: Invalid value: 120: must be between 0 and 100`.
func Decode(plugin string, obj runtime.Object, into Args) error {
	if err := frameworkruntime.DecodeInto(obj, into); err != nil {
		return fmt.Errorf("%s args: %w", plugin, err)
	}
	if u, ok := obj.(*runtime.Unknown); ok && len(u.Raw) > 0 {
		// UnmarshalStrict reads JSON and YAML alike and names any unknown field.
		probe := newLike(into)
		if err := yaml.UnmarshalStrict(u.Raw, probe); err != nil {
			return fmt.Errorf("%s args: %w", plugin, err)
		}
	}
	into.Default()
	if errs := into.Validate(field.NewPath("args")); len(errs) > 0 {
		return fmt.Errorf("%s: %w", plugin, errs.ToAggregate())
	}
	return nil
}

// newLike returns a new zero value of the type v points to.
func newLike(v any) any {
	return reflect.New(reflect.TypeOf(v).Elem()).Interface()
}

// Package config holds the typed arguments of berth's plugins: their fields, defaults
// and validation. The field names are berth's public configuration API.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// Args is what every berth plugin's arguments implement.
type Args interface {
	// Default fills in unset fields.
	Default()
	// Validate reports every invalid field under path (the plugin's args).
	Validate(path *field.Path) field.ErrorList
}

// NoArgs are the arguments of a plugin that takes none: any field is unknown.
type NoArgs struct{}

var _ Args = &NoArgs{}

// Default does nothing: there is nothing to default.
func (*NoArgs) Default() {}

// Validate accepts the empty args.
func (*NoArgs) Validate(*field.Path) field.ErrorList { return nil }

// Decode turns the args the framework hands a plugin factory into a defaulted, valid
// args value, or an error that names the plugin and the field, e.g.
// `PriorityHeadroom: args.reservations[0].reservePercent[cpu]: Invalid value: 120: must be between 0 and 100`.
//
// Decoding is strict and case-sensitive, as the framework's own decoding of a field is
// (k8s.io/apimachinery reads JSON through sigs.k8s.io/json, matching names exactly): an
// unknown field, a field whose case differs from berth's (`GuaranteedPriorityGap`), and
// a field given twice are errors, never a setting silently dropped. (encoding/json and
// sigs.k8s.io/yaml.UnmarshalStrict match names case-insensitively, so they would accept
// `GuaranteedPriorityGap` for a check while the real decoding ignored it.)
func Decode(plugin string, obj runtime.Object, into Args) error {
	if err := decodeStrict(obj, into); err != nil {
		return fmt.Errorf("%s: %w", plugin, err)
	}
	into.Default()
	if errs := into.Validate(field.NewPath("args")); len(errs) > 0 {
		return fmt.Errorf("%s: %w", plugin, errs.ToAggregate())
	}
	return nil
}

func decodeStrict(obj runtime.Object, into Args) error {
	if obj == nil {
		return nil
	}
	u, ok := obj.(*runtime.Unknown)
	if !ok {
		return fmt.Errorf("args: got %T, want raw JSON or YAML (runtime.Unknown)", obj)
	}
	data := u.Raw
	if len(data) == 0 {
		return nil
	}
	if u.ContentType == runtime.ContentTypeYAML {
		var err error
		if data, err = yaml.YAMLToJSONStrict(data); err != nil {
			return fmt.Errorf("args: %w", err)
		}
	}
	strict, err := sigsjson.UnmarshalStrict(data, into, sigsjson.DisallowDuplicateFields, sigsjson.DisallowUnknownFields)
	if err != nil {
		return decodeError(err, reflect.TypeOf(into).Elem(), data)
	}
	if len(strict) > 0 {
		msgs := make([]string, len(strict))
		for i, e := range strict {
			msgs[i] = strictFieldError(e, reflect.TypeOf(into).Elem())
		}
		return errors.New(strings.Join(msgs, "; "))
	}
	return nil
}

// typeErrorRE reads encoding/json's type error (sigs.k8s.io/json's copy of it): the
// value, the field path (from the struct's JSON names, without list indices; none when
// the args themselves have the wrong type) and the Go type wanted.
var typeErrorRE = regexp.MustCompile(`cannot unmarshal (.+) into Go (?:struct field [^.]+\.(\S+)|value) of type (\S+)`)

// decodeError says which field has a value of the wrong type, in berth's field names,
// and what is allowed there.
func decodeError(err error, t reflect.Type, data []byte) error {
	m := typeErrorRE.FindStringSubmatch(err.Error())
	if m == nil {
		return fmt.Errorf("args: %w", err)
	}
	got, path, want := m[1], m[2], m[3]
	if path == "" {
		return fmt.Errorf("args: must be %s", shape(t))
	}
	// The error's path has no list indices or map keys; the value it ends at has.
	if p, vt, ok := valueAt(data, errorOffset(err), t); ok && deref(vt).String() == want {
		return fmt.Errorf("args%s: %s is not allowed here, want %s", p, got, shape(vt))
	}
	ft, ok := fieldType(t, strings.Split(path, "."))
	if !ok {
		return fmt.Errorf("args.%s: %s is not allowed here, want %s", listPath(t, path), got, want)
	}
	// The type wanted is the field's, or (a list item or map value of the wrong type)
	// its element's: say which, e.g. reservations[*] or reservePercent[*].
	path = listPath(t, path)
	for ft.String() != want {
		switch ft.Kind() {
		case reflect.Pointer:
		case reflect.Slice, reflect.Array, reflect.Map:
			path += "[*]"
		default:
			return fmt.Errorf("args.%s: %s is not allowed here, want %s", path, got, jsonKind(ft))
		}
		ft = ft.Elem()
	}
	return fmt.Errorf("args.%s: %s is not allowed here, want %s", path, got, shape(ft))
}

// errorOffset is where in the JSON encoding/json's type error occurred: the end of the
// first token of the value (sigs.k8s.io/json's copy of the error type is internal, so
// its Offset is read by name); -1 if the error has none.
func errorOffset(err error) int64 {
	v := reflect.ValueOf(err)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return -1
	}
	if f := v.Elem().FieldByName("Offset"); f.IsValid() && f.Kind() == reflect.Int64 {
		return f.Int()
	}
	return -1
}

// valueAt finds the JSON value whose first token ends at offset in data, read as t: its
// path in field.Path's form (.field, [index], [key]) and the Go type it decodes into.
func valueAt(data []byte, offset int64, t reflect.Type) (string, reflect.Type, bool) {
	if offset < 0 {
		return "", nil, false
	}
	type container struct {
		t       reflect.Type // the list's or object's type, pointers stripped
		path    string
		object  bool
		key     string // the key of the next value, in an object
		wantKey bool
		next    int // the index of the next item, in a list
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*container
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", nil, false
		}
		if d, ok := tok.(json.Delim); ok && (d == '}' || d == ']') {
			stack = stack[:len(stack)-1]
			continue
		}
		path, vt := "", t
		if len(stack) > 0 {
			c := stack[len(stack)-1]
			if c.object && c.wantKey {
				c.key, c.wantKey = tok.(string), false
				continue
			}
			vt = nil
			switch {
			case c.object:
				c.wantKey = true
				if c.t != nil && c.t.Kind() == reflect.Struct {
					path = c.path + "." + c.key
					vt, _ = fieldByJSON(c.t, c.key)
				} else {
					path = c.path + "[" + c.key + "]"
					if c.t != nil && c.t.Kind() == reflect.Map {
						vt = c.t.Elem()
					}
				}
			default:
				path = fmt.Sprintf("%s[%d]", c.path, c.next)
				c.next++
				if c.t != nil && (c.t.Kind() == reflect.Slice || c.t.Kind() == reflect.Array) {
					vt = c.t.Elem()
				}
			}
		}
		if dec.InputOffset() >= offset {
			return path, vt, vt != nil
		}
		if d, ok := tok.(json.Delim); ok {
			var ct reflect.Type
			if vt != nil {
				ct = deref(vt)
			}
			stack = append(stack, &container{t: ct, path: path, object: d == '{', wantKey: d == '{'})
		}
	}
}

func deref(t reflect.Type) reflect.Type {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// shape names the JSON value a Go type takes, with the fields an object allows.
func shape(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if allowed := jsonFields(t, nil); len(allowed) > 0 {
			return "an object (a map of fields); allowed: " + strings.Join(allowed, ", ")
		}
		return "an object (a map of fields); this plugin takes no arguments"
	case reflect.Map:
		return "an object (a map of names to values, each " + jsonKind(t.Elem()) + ")"
	}
	return jsonKind(t)
}

// listPath marks the lists on a field path that encoding/json gives without indices:
// reservations.reservePercent → reservations[*].reservePercent.
func listPath(t reflect.Type, path string) string {
	parts := strings.Split(path, ".")
	for i, p := range parts {
		t = elem(t)
		if t.Kind() != reflect.Struct {
			break
		}
		next, ok := fieldByJSON(t, p)
		if !ok {
			break
		}
		for next.Kind() == reflect.Pointer {
			next = next.Elem()
		}
		if next.Kind() == reflect.Slice && i < len(parts)-1 {
			parts[i] += "[*]"
		}
		t = next
	}
	return strings.Join(parts, ".")
}

// fieldType is the type of the field reached from t through fields (JSON names).
func fieldType(t reflect.Type, fields []string) (reflect.Type, bool) {
	for _, f := range fields {
		t = elem(t)
		if t.Kind() != reflect.Struct {
			return nil, false
		}
		next, ok := fieldByJSON(t, f)
		if !ok {
			return nil, false
		}
		t = next
	}
	return t, true
}

// jsonKind names a Go type as a JSON value.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int32:
		return "an integer from -2147483648 to 2147483647"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// strictFieldError turns sigs.k8s.io/json's `unknown field "a[0].b"` and
// `duplicate field "a.b"` into `args.a[0].b: unknown field b (did you mean B?);
// allowed: ...`. Names are not quoted: klog, which prints the error berth-scheduler
// exits with, would escape every quote.
func strictFieldError(err error, t reflect.Type) string {
	msg := err.Error()
	for _, kind := range []string{"unknown field", "duplicate field"} {
		path, ok := strings.CutPrefix(msg, kind+" ")
		if !ok {
			continue
		}
		path = strings.Trim(path, `"`)
		parent, name := splitPath(path)
		out := fmt.Sprintf("args.%s: %s %s", path, kind, name)
		if kind == "unknown field" {
			if allowed := jsonFields(t, parent); len(allowed) > 0 {
				if s := suggest(name, allowed); s != "" {
					out += fmt.Sprintf(" (did you mean %s?)", s)
				}
				out += "; allowed: " + strings.Join(allowed, ", ")
			} else if len(parent) == 0 {
				out += "; this plugin takes no arguments"
			}
		}
		return out
	}
	return "args: " + msg
}

// splitPath splits "a[0].b.c" into the struct fields leading to the last one
// (indices and map keys dropped: they do not change the struct) and the last name.
func splitPath(path string) ([]string, string) {
	parts := strings.Split(path, ".")
	for i := range parts {
		if j := strings.IndexByte(parts[i], '['); j >= 0 {
			parts[i] = parts[i][:j]
		}
	}
	return parts[:len(parts)-1], parts[len(parts)-1]
}

// jsonFields lists the JSON names of the struct reached from t through fields.
func jsonFields(t reflect.Type, fields []string) []string {
	t, ok := fieldType(t, fields)
	if !ok {
		return nil
	}
	t = elem(t)
	if t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		if n := jsonName(t.Field(i)); n != "" {
			names = append(names, n)
		}
	}
	return names
}

// elem strips pointers, slices and maps down to the element type.
func elem(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map || t.Kind() == reflect.Array {
		t = t.Elem()
	}
	return t
}

func fieldByJSON(t reflect.Type, name string) (reflect.Type, bool) {
	for i := 0; i < t.NumField(); i++ {
		if jsonName(t.Field(i)) == name {
			return t.Field(i).Type, true
		}
	}
	return nil, false
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if tag == "-" {
		return ""
	}
	if tag == "" {
		return f.Name
	}
	return tag
}

// suggest is the allowed name the unknown one most likely meant.
func suggest(name string, allowed []string) string { return Closest(name, allowed, 2) }

// Closest is the candidate a name most likely misspells: the same name in another case,
// else the nearest at most maxEdits edits away (Levenshtein, case-insensitive); "" if
// none is that near.
func Closest(name string, candidates []string, maxEdits int) string {
	for _, c := range candidates {
		if strings.EqualFold(c, name) {
			return c
		}
	}
	best, bestDist := "", maxEdits+1
	for _, c := range candidates {
		if d := editDistance(strings.ToLower(c), strings.ToLower(name)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// FieldPaths lists every field of an args type as its path of JSON names, parents
// before children (e.g. [reservations] then [reservations belowPriority]): for tools and
// tests that must cover every argument, such as the bad-configuration tables.
func FieldPaths(a Args) [][]string {
	var out [][]string
	var walk func(t reflect.Type, prefix []string)
	walk = func(t reflect.Type, prefix []string) {
		t = elem(t)
		if t.Kind() != reflect.Struct {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			name := jsonName(t.Field(i))
			if name == "" {
				continue
			}
			p := append(append([]string{}, prefix...), name)
			out = append(out, p)
			if ft := t.Field(i).Type; elem(ft).Kind() == reflect.Struct && elem(ft).PkgPath() == reflect.TypeOf(a).Elem().PkgPath() {
				walk(ft, p)
			}
		}
	}
	walk(reflect.TypeOf(a), nil)
	return out
}

// RawWithField is args JSON that sets the field at path (as FieldPaths gives it) to
// value, with the lists and objects on the way written out; the name of the last field
// is the given one, so callers can misspell it on purpose.
func RawWithField(a Args, path []string, last string, value string) string {
	t := reflect.TypeOf(a)
	var open, close strings.Builder
	for i, p := range path {
		name := p
		if i == len(path)-1 {
			name = last
		}
		fmt.Fprintf(&open, "{%q:", name)
		close.WriteString("}")
		if i == len(path)-1 {
			break
		}
		ft, _ := fieldByJSON(elem(t), p)
		if k := derefKind(ft); k == reflect.Slice {
			open.WriteString("[")
			close.WriteString("]")
		}
		t = ft
	}
	c := []rune(close.String())
	for i, j := 0, len(c)-1; i < j; i, j = i+1, j-1 {
		c[i], c[j] = c[j], c[i]
	}
	return open.String() + value + string(c)
}

func derefKind(t reflect.Type) reflect.Kind {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind()
}

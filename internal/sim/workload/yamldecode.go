package workload

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"
	kjson "sigs.k8s.io/json"
)

// decoder reads one YAML document into berth's schema types strictly: a field name
// must match exactly, case included; unknown and repeated fields are errors; every
// value must have the type its field wants. It remembers the line of every field it
// reads, so that the checks after decoding name lines too (lineOf).
//
// Values of Kubernetes API types (Toleration, Affinity, TopologySpreadConstraint,
// LabelSelector, Taint, Quantity, IntOrString) are decoded as the API server decodes
// them: that part of the YAML is turned into JSON and read by sigs.k8s.io/json's
// strict, case-sensitive decoder. encoding/json and sigs.k8s.io/yaml.UnmarshalStrict
// match field names case-insensitively and would take "Key" for "key".
type decoder struct {
	file string
	errs ErrorList
	// lines maps a field path (field.Path's String form) to the line it is on.
	lines map[string]int
	// budget bounds the nodes read, so that aliases cannot expand without limit.
	budget int
}

// maxNodes is far more than any scenario needs and small enough to read quickly.
const maxNodes = 1 << 18

// nodeDecoder is implemented by schema types with a syntax of their own (durations,
// rates, a duration that is fixed or a range).
type nodeDecoder interface {
	decodeNode(d *decoder, n *yaml.Node, path *field.Path)
}

var (
	jsonUnmarshalerType = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()
	nodeDecoderType     = reflect.TypeOf((*nodeDecoder)(nil)).Elem()
	schemaPkgPath       = reflect.TypeOf(Scenario{}).PkgPath()
)

func newDecoder(file string) *decoder {
	return &decoder{file: file, lines: map[string]int{}, budget: maxNodes}
}

// errorf records a problem at a line; path may be nil (the document as a whole).
func (d *decoder) errorf(line int, path *field.Path, format string, args ...any) {
	e := &Error{File: d.file, Line: line, Msg: fmt.Sprintf(format, args...)}
	e.Field = ps(path)
	d.errs = append(d.errs, e)
}

// fieldErrors records validation errors at the lines of their fields.
func (d *decoder) fieldErrors(errs field.ErrorList) {
	for _, e := range errs {
		d.errs = append(d.errs, &Error{File: d.file, Line: d.lineOf(e.Field), Field: e.Field, Msg: e.ErrorBody()})
	}
}

// note remembers where a field is; the first place wins (an alias repeats a node).
func (d *decoder) note(path *field.Path, line int) {
	d.notePath(ps(path), line)
}

// ps is a path's string; "" for the document's root (nil).
func ps(p *field.Path) string {
	if p == nil {
		return ""
	}
	return p.String()
}

func (d *decoder) notePath(p string, line int) {
	if _, ok := d.lines[p]; !ok {
		d.lines[p] = line
	}
}

// lineOf is the line of a field, or of its nearest enclosing field that is in the
// file (a missing required field is reported where its object starts).
func (d *decoder) lineOf(p string) int {
	for {
		if l, ok := d.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			return d.lines[""]
		}
		p = p[:i]
	}
}

var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseDocument parses data as exactly one YAML document and returns its root.
func (d *decoder) parseDocument(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(0, nil, "the file is empty")
		} else {
			d.yamlError(err)
		}
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(extra.Line, nil, "a second YAML document: the file must hold exactly one")
		return nil
	} else if !errors.Is(err, io.EOF) {
		d.yamlError(err)
		return nil
	}
	if len(doc.Content) == 0 || isNull(doc.Content[0]) {
		d.errorf(0, nil, "the file is empty")
		return nil
	}
	root := doc.Content[0]
	d.notePath("", root.Line)
	return root
}

// yamlError reports a YAML syntax error at the line the parser names.
func (d *decoder) yamlError(err error) {
	msg := err.Error()
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.errorf(line, nil, "invalid YAML: %s", m[2])
		return
	}
	d.errorf(0, nil, "invalid YAML: %s", strings.TrimPrefix(msg, "yaml: "))
}

// resolve follows an alias to its anchor and charges the node to the budget.
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	d.budget--
	if d.budget == 0 {
		d.errorf(n.Line, nil, "the document has more than %d values once aliases are expanded", maxNodes)
	}
	if d.budget <= 0 {
		return nil
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// decode reads n into v. A null value leaves v as it is: absent.
func (d *decoder) decode(n *yaml.Node, path *field.Path, v reflect.Value) {
	if n = d.resolve(n); n == nil || isNull(n) {
		return
	}
	t := v.Type()
	switch {
	case reflect.PointerTo(t).Implements(nodeDecoderType):
		v.Addr().Interface().(nodeDecoder).decodeNode(d, n, path)
		return
	case reflect.PointerTo(t).Implements(jsonUnmarshalerType) || (t.Kind() == reflect.Struct && t.PkgPath() != schemaPkgPath):
		d.decodeJSON(n, path, v)
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		p := reflect.New(t.Elem())
		d.decode(n, path, p.Elem())
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, path, v)
	case reflect.Slice:
		if !d.want(n, yaml.SequenceNode, path) {
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		for i, item := range n.Content {
			p := path.Index(i)
			d.note(p, item.Line)
			d.decode(item, p, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		if !d.want(n, yaml.MappingNode, path) {
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		d.eachKey(n, path, func(key string, kn, vn *yaml.Node) {
			p := path.Key(key)
			d.note(p, kn.Line)
			val := reflect.New(t.Elem()).Elem()
			d.decode(vn, p, val)
			m.SetMapIndex(reflect.ValueOf(key).Convert(t.Key()), val)
		})
		v.Set(m)
	case reflect.String:
		if d.scalar(n, path, "!!str") {
			v.SetString(n.Value)
		}
	case reflect.Bool:
		var b bool
		if d.scalar(n, path, "!!bool") && n.Decode(&b) == nil {
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !d.scalar(n, path, "!!int") {
			return
		}
		var i int64
		if err := n.Decode(&i); err != nil || v.OverflowInt(i) {
			d.errorf(n.Line, path, "%s is out of range", n.Value)
			return
		}
		v.SetInt(i)
	default:
		d.errorf(n.Line, path, "berth-sim cannot read a value of type %s", t)
	}
}

// decodeStruct reads a mapping into a struct of the schema, by JSON field name.
func (d *decoder) decodeStruct(n *yaml.Node, path *field.Path, v reflect.Value) {
	if !d.want(n, yaml.MappingNode, path) {
		return
	}
	fields := jsonFields(v.Type())
	d.eachKey(n, path, func(key string, kn, vn *yaml.Node) {
		i, ok := fields[key]
		if !ok {
			d.unknownField(kn.Line, path, key, v.Type())
			return
		}
		p := path.Child(key)
		d.note(p, kn.Line)
		d.decode(vn, p, v.FieldByIndex(i))
	})
}

// eachKey calls f for each entry of a mapping, rejecting what JSON objects cannot
// hold: repeated keys, keys that are not plain scalars, YAML merge keys.
func (d *decoder) eachKey(n *yaml.Node, path *field.Path, f func(key string, kn, vn *yaml.Node)) {
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn, vn := n.Content[i], n.Content[i+1]
		switch {
		case kn.Kind != yaml.ScalarNode:
			d.errorf(kn.Line, path, "a key must be a plain string")
			continue
		case kn.ShortTag() == "!!merge":
			d.errorf(kn.Line, path, "YAML merge keys (<<) are not supported: repeat the fields, or alias the whole value")
			continue
		}
		if first, dup := seen[kn.Value]; dup {
			d.errorf(kn.Line, path, "field %q appears twice (first on line %d)", kn.Value, first)
			continue
		}
		seen[kn.Value] = kn.Line
		f(kn.Value, kn, vn)
	}
}

// unknownField reports a key that names no field of t, with the fields t has.
func (d *decoder) unknownField(line int, path *field.Path, key string, t reflect.Type) {
	names := make([]string, 0)
	hint := ""
	for name := range jsonFields(t) {
		names = append(names, name)
		if strings.EqualFold(name, key) {
			hint = fmt.Sprintf(" (did you mean %q?)", name)
		}
	}
	sort.Strings(names)
	msg := fmt.Sprintf("unknown field %q%s", key, hint)
	if len(names) > 0 {
		msg += "; allowed fields: " + strings.Join(names, ", ")
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Field: ps(path), Msg: msg})
}

// want checks the kind of a node: a mapping, a list or a single value.
func (d *decoder) want(n *yaml.Node, kind yaml.Kind, path *field.Path) bool {
	if n.Kind == kind {
		return true
	}
	d.errorf(n.Line, path, "must be %s, not %s", kindName(kind), describeNode(n))
	return false
}

// scalar checks that n is a single value of the YAML type tag (!!str, !!int, !!bool).
func (d *decoder) scalar(n *yaml.Node, path *field.Path, tag string) bool {
	if !d.want(n, yaml.ScalarNode, path) {
		return false
	}
	if n.ShortTag() == tag {
		return true
	}
	switch tag {
	case "!!str":
		d.errorf(n.Line, path, "must be a string, not %s: quote it (%q)", describeNode(n), n.Value)
	case "!!int":
		d.errorf(n.Line, path, "must be a whole number, not %s", describeNode(n))
	case "!!bool":
		d.errorf(n.Line, path, "must be true or false, not %s", describeNode(n))
	}
	return false
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "a mapping (field: value)"
	case yaml.SequenceNode:
		return "a list"
	default:
		return "a single value"
	}
}

// describeNode names what a node is, for messages.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.ShortTag() {
	case "!!int":
		return "the number " + n.Value
	case "!!float":
		return "the number " + n.Value
	case "!!bool":
		return n.Value
	case "!!null":
		return "null"
	}
	return strconv.Quote(n.Value)
}

// jsonFields maps the JSON names of a struct's fields to their indexes, following
// inlined (embedded) structs as encoding/json does.
func jsonFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if f.Anonymous && name == "" || strings.Contains(opts, "inline") {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for n, idx := range jsonFields(ft) {
					out[n] = append([]int{i}, idx...)
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		out[name] = []int{i}
	}
	return out
}

// jsonNode is a node of a value decoded through JSON, by its path relative to that
// value as sigs.k8s.io/json writes paths (a.b[0].c).
type jsonNode struct {
	rel  string
	line int
	kind string // JSON kind: object, array, string, number, bool, null
}

// decodeJSON decodes n into v, a Kubernetes API type, through JSON.
func (d *decoder) decodeJSON(n *yaml.Node, path *field.Path, v reflect.Value) {
	var b bytes.Buffer
	var nodes []jsonNode
	if !d.toJSON(&b, n, path, "", &nodes) {
		return
	}
	p := reflect.New(v.Type())
	strict, err := kjson.UnmarshalStrict(b.Bytes(), p.Interface())
	if err != nil {
		d.jsonError(err, n, path, v.Type(), nodes)
		return
	}
	for _, e := range strict {
		d.strictError(e, n, path, v.Type(), nodes)
	}
	if len(strict) == 0 {
		v.Set(p.Elem())
	}
}

// toJSON writes n as JSON, noting where each part of it is.
func (d *decoder) toJSON(b *bytes.Buffer, n *yaml.Node, base *field.Path, rel string, nodes *[]jsonNode) bool {
	if n = d.resolve(n); n == nil {
		return false
	}
	abs := ps(base)
	if rel != "" {
		if abs != "" && rel[0] != '[' {
			abs += "."
		}
		abs += rel
	}
	switch n.Kind {
	case yaml.MappingNode:
		*nodes = append(*nodes, jsonNode{rel, n.Line, "object"})
		b.WriteByte('{')
		ok, first := true, true
		d.eachKey(n, pathOf(abs), func(key string, kn, vn *yaml.Node) {
			if !first {
				b.WriteByte(',')
			}
			first = false
			k, _ := json.Marshal(key)
			b.Write(k)
			b.WriteByte(':')
			child := key
			if rel != "" {
				child = rel + "." + key
			}
			*nodes = append(*nodes, jsonNode{child, kn.Line, "key"})
			d.notePath(joinPath(abs, key), kn.Line)
			d.notePath(abs+"["+key+"]", kn.Line)
			ok = d.toJSON(b, vn, base, child, nodes) && ok
		})
		b.WriteByte('}')
		return ok
	case yaml.SequenceNode:
		*nodes = append(*nodes, jsonNode{rel, n.Line, "array"})
		b.WriteByte('[')
		ok := true
		for i, item := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			child := rel + "[" + strconv.Itoa(i) + "]"
			d.notePath(abs+"["+strconv.Itoa(i)+"]", item.Line)
			ok = d.toJSON(b, item, base, child, nodes) && ok
		}
		b.WriteByte(']')
		return ok
	case yaml.ScalarNode:
		kind, text, err := jsonScalar(n)
		if err != nil {
			d.errorf(n.Line, pathOf(abs), "%v", err)
			return false
		}
		*nodes = append(*nodes, jsonNode{rel, n.Line, kind})
		b.WriteString(text)
		return true
	}
	d.errorf(n.Line, pathOf(abs), "unsupported YAML node")
	return false
}

// jsonScalar converts a YAML scalar to JSON by its resolved YAML type.
func jsonScalar(n *yaml.Node) (kind, text string, err error) {
	switch n.ShortTag() {
	case "!!null":
		return "null", "null", nil
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return "", "", err
		}
		return "bool", strconv.FormatBool(v), nil
	case "!!int":
		var i int64
		if err := n.Decode(&i); err != nil {
			return "", "", fmt.Errorf("%s is out of range", n.Value)
		}
		return "number", strconv.FormatInt(i, 10), nil
	case "!!float":
		var f float64
		if err := n.Decode(&f); err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return "", "", fmt.Errorf("%s is not a finite number", n.Value)
		}
		return "number", strconv.FormatFloat(f, 'g', -1, 64), nil
	case "!!str", "!!timestamp", "!!binary":
		s, _ := json.Marshal(n.Value)
		return "string", string(s), nil
	}
	return "", "", fmt.Errorf("unsupported YAML tag %s", n.Tag)
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// pathOf turns a path string back into a field.Path for an error's Field.
func pathOf(p string) *field.Path {
	if p == "" {
		return nil
	}
	return field.NewPath(p)
}

// scalarHints say what a Kubernetes scalar type accepts, for values it refuses.
var scalarHints = map[string]string{
	"Quantity":    "a quantity such as 500m, 2 or 1.5Gi",
	"IntOrString": `a whole number or a percentage such as "50%"`,
}

// jsonError reports a value the JSON decoder refused, at the line of that value.
func (d *decoder) jsonError(err error, n *yaml.Node, path *field.Path, t reflect.Type, nodes []jsonNode) {
	if hint, ok := scalarHints[t.Name()]; ok && n.Kind == yaml.ScalarNode {
		d.errorf(n.Line, path, "invalid value %s: must be %s", describeNode(n), hint)
		return
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		line, rel := n.Line, te.Field
		for _, jn := range nodes {
			if stripIndexes(jn.rel) == te.Field && strings.HasPrefix(te.Value, jn.kind) {
				line, rel = jn.line, jn.rel
				break
			}
		}
		d.errorf(line, joinField(path, rel), "must be %s, not a %s", describeType(te.Type), te.Value)
		return
	}
	d.errorf(n.Line, path, "%v", err)
}

// strictError reports an unknown field inside a Kubernetes API value, with the fields
// its type has.
func (d *decoder) strictError(err error, n *yaml.Node, path *field.Path, t reflect.Type, nodes []jsonNode) {
	var fe kjson.FieldError
	if !errors.As(err, &fe) {
		d.errorf(n.Line, path, "%v", err)
		return
	}
	rel := fe.FieldPath()
	line := n.Line
	for _, jn := range nodes {
		if jn.kind == "key" && jn.rel == rel {
			line = jn.line
			break
		}
	}
	parent, key := "", rel
	if i := strings.LastIndex(rel, "."); i >= 0 {
		parent, key = rel[:i], rel[i+1:]
	}
	if !strings.HasPrefix(err.Error(), "unknown field") {
		d.errorf(line, joinField(path, parent), "%v", err)
		return
	}
	if pt := typeAt(t, parent); pt != nil {
		d.unknownField(line, joinField(path, parent), key, pt)
		return
	}
	d.errorf(line, joinField(path, parent), "unknown field %q", key)
}

func joinField(base *field.Path, rel string) *field.Path {
	if rel == "" {
		return base
	}
	s := ps(base)
	if s != "" && rel[0] != '[' {
		s += "."
	}
	return field.NewPath(s + rel)
}

var indexPattern = regexp.MustCompile(`\[\d+\]`)

func stripIndexes(p string) string { return indexPattern.ReplaceAllString(p, "") }

// typeAt is the struct type at a relative JSON path (a.b[0].c) under t, or nil.
func typeAt(t reflect.Type, rel string) reflect.Type {
	for _, part := range strings.Split(stripIndexes(rel), ".") {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if part == "" {
			continue
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		idx, ok := jsonFields(t)[part]
		if !ok {
			return nil
		}
		t = t.FieldByIndex(idx).Type
	}
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	return t
}

// describeType names what a Go type accepts, for messages.
func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a mapping (field: value)"
	}
	return t.String()
}

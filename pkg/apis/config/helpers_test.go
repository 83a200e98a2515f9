package config

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// rawArgs is args as the framework hands them to a plugin factory: nil when raw is
// empty (no pluginConfig), else runtime.Unknown holding JSON or, with yaml, YAML.
func rawArgs(raw string, yaml bool) runtime.Object {
	if raw == "" {
		return nil
	}
	u := &runtime.Unknown{Raw: []byte(raw)}
	if yaml {
		u.ContentType = runtime.ContentTypeYAML
	}
	return u
}

// expectErrors checks that errs holds exactly the wanted errors, in order, each
// containing its fragment.
func expectErrors(t *testing.T, errs field.ErrorList, want []string) {
	t.Helper()
	if len(errs) != len(want) {
		t.Fatalf("got %d errors %v, want %d: %q", len(errs), errs, len(want), want)
	}
	for i, w := range want {
		if !strings.Contains(errs[i].Error(), w) {
			t.Errorf("error %d = %q, want it to contain %q", i, errs[i].Error(), w)
		}
	}
}

// expectDecodeError reports whether the case expected an error (then it has checked
// err contains wantErr); otherwise it fails the test on any error.
func expectDecodeError(t *testing.T, err error, wantErr string) bool {
	t.Helper()
	if wantErr != "" {
		if err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Fatalf("Decode error = %v, want it to contain %q", err, wantErr)
		}
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return false
}

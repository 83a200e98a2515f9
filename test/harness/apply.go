package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
)

// FieldManager is the server-side apply field manager of everything the harness applies.
const FieldManager = "berth-harness"

// Apply server-side applies every object in a multi-document YAML stream, in order,
// the way `kubectl apply --server-side` would, and returns what the server stored.
func Apply(ctx context.Context, cfg *rest.Config, manifest []byte) ([]*unstructured.Unstructured, error) {
	return ApplyEach(ctx, cfg, manifest, nil)
}

// ApplyEach is Apply with a hook: after is called with each object as stored, before
// the next one is applied (nil: no hook), so a caller can wait for one to take effect.
func ApplyEach(ctx context.Context, cfg *rest.Config, manifest []byte, after func(*unstructured.Unstructured) error) ([]*unstructured.Unstructured, error) {
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	disco, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disco))

	var applied []*unstructured.Unstructured
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(manifest), 4096)
	for {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return applied, nil
			}
			return applied, fmt.Errorf("decode manifest: %w", err)
		}
		if len(obj.Object) == 0 {
			continue // an empty document between two ---
		}
		gvk := obj.GroupVersionKind()
		mapping, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return applied, fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
		}
		resource := dyn.Resource(mapping.Resource)
		var client dynamic.ResourceInterface = resource
		if obj.GetNamespace() != "" {
			client = resource.Namespace(obj.GetNamespace())
		}
		var out *unstructured.Unstructured
		err = retryPriorityClassLag(ctx, func(ctx context.Context) error {
			var err error
			out, err = client.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("apply %s %s: %w", gvk.Kind, obj.GetName(), err)
		}
		applied = append(applied, out)
		if after != nil {
			if err := after(out); err != nil {
				return applied, err
			}
		}
	}
}

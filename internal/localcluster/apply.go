package localcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// FieldManager is the server-side apply field manager of everything Apply applies.
const FieldManager = "berth-localcluster"

// Apply server-side applies every object in a multi-document YAML stream, in order,
// the way `kubectl apply --server-side` would, and returns what the server stored. A pod
// whose PriorityClass was created just before is retried while the API server's
// admission has not seen the class yet (see RetryPriorityClassLag).
func (c *Cluster) Apply(ctx context.Context, manifest []byte) ([]*unstructured.Unstructured, error) {
	return c.ApplyEach(ctx, manifest, nil)
}

// ApplyEach is Apply with a hook: after is called with each object as stored, before
// the next one is applied (nil: no hook), so a caller can wait for one to take effect.
func (c *Cluster) ApplyEach(ctx context.Context, manifest []byte, after func(*unstructured.Unstructured) error) ([]*unstructured.Unstructured, error) {
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
		mapping, err := c.restMapping(ctx, gvk)
		if err != nil {
			return applied, fmt.Errorf("%s %s: %w", gvk.Kind, obj.GetName(), err)
		}
		resource := c.clients.dynamic.Resource(mapping.Resource)
		var client dynamic.ResourceInterface = resource
		if obj.GetNamespace() != "" {
			client = resource.Namespace(obj.GetNamespace())
		}
		var out *unstructured.Unstructured
		err = RetryPriorityClassLag(ctx, func(ctx context.Context) error {
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

// kindLag is how long a kind may take to appear in discovery: a CRD's kind is served
// a moment after the CRD reports Established.
const kindLag = 10 * time.Second

// restMapping finds gvk's resource, reading discovery afresh while the kind is unknown:
// the mapper's cache would otherwise miss a kind whose CRD was installed after it was
// filled, for good.
func (c *Cluster) restMapping(ctx context.Context, gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	mapping, err := c.clients.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err == nil || !meta.IsNoMatchError(err) {
		return mapping, err
	}
	_ = wait.PollUntilContextTimeout(ctx, poll, kindLag, true, func(context.Context) (bool, error) {
		c.clients.mapper.Reset()
		mapping, err = c.clients.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		return err == nil || !meta.IsNoMatchError(err), nil
	})
	return mapping, err
}

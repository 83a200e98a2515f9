package sim

import (
	"context"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

func TestInformersOfListedKindsHoldTheRunsObjects(t *testing.T) {
	pv := &v1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1"}}
	ns := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}
	objs := []runtime.Object{pv, ns}
	f, err := newInformerFactory(fake.NewSimpleClientset(objs...), newSyncInformer(), newSyncInformer(), newSyncInformer(), objs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Core().V1().PersistentVolumes().Lister().Get("pv-1"); err != nil {
		t.Errorf("PersistentVolume lister: %v", err)
	}
	if _, err := f.Core().V1().Namespaces().Lister().Get("team-a"); err != nil {
		t.Errorf("Namespace lister: %v", err)
	}
	if err := checkSynchronous(context.Background(), f); err != nil {
		t.Errorf("only synchronous informers were asked for, got %v", err)
	}
}

// A kind the scheduler starts watching (a newer Kubernetes, a feature gate) must stop
// the run, not run a reflector that makes it depend on timing.
func TestAnInformerWithAReflectorIsRefusedByName(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := newInformerFactory(fake.NewSimpleClientset(), newSyncInformer(), newSyncInformer(), newSyncInformer(), nil)
	if err != nil {
		t.Fatal(err)
	}
	f.Core().V1().Namespaces().Informer()
	f.Core().V1().ConfigMaps().Informer()
	err = checkSynchronous(ctx, f)
	if err == nil || !strings.Contains(err.Error(), "the scheduler watches *v1.ConfigMap, which berth-sim does not simulate") {
		t.Errorf("got %v, want the ConfigMap informer named", err)
	}
}

package sim

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	appsv1 "k8s.io/api/apps/v1"
	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	resourcev1 "k8s.io/api/resource/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// syncInformer is a SharedIndexInformer that the run's driver feeds by hand: it has
// no reflector and no goroutines. Pods and nodes reach the scheduler through it, so
// every event handler of the scheduler runs on the driver goroutine, in the order the
// API changes happened, and is done when the driver moves on. That is what makes a run
// deterministic (a real informer hands each handler its events on a goroutine of its
// own) and needs no waiting: there is nothing in flight once deliver returns.
type syncInformer struct {
	indexer  cache.Indexer
	handlers []cache.ResourceEventHandler
}

var _ cache.SharedIndexInformer = &syncInformer{}

func newSyncInformer() *syncInformer {
	return &syncInformer{indexer: cache.NewIndexer(cache.MetaNamespaceKeyFunc,
		cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})}
}

// add, update and remove change the store and call every handler, in registration
// order, as a shared informer's listeners would be called.
func (i *syncInformer) add(obj runtime.Object) error {
	if err := i.indexer.Add(obj); err != nil {
		return err
	}
	for _, h := range i.handlers {
		h.OnAdd(obj, false)
	}
	return nil
}

func (i *syncInformer) update(oldObj, newObj runtime.Object) error {
	if err := i.indexer.Update(newObj); err != nil {
		return err
	}
	for _, h := range i.handlers {
		h.OnUpdate(oldObj, newObj)
	}
	return nil
}

func (i *syncInformer) remove(obj runtime.Object) error {
	if err := i.indexer.Delete(obj); err != nil {
		return err
	}
	for _, h := range i.handlers {
		h.OnDelete(obj)
	}
	return nil
}

func (i *syncInformer) AddEventHandler(h cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error) {
	// Handlers are registered while the scheduler is built, before the driver adds
	// any object; a late handler would get the existing objects first, as with a
	// running shared informer.
	for _, key := range i.indexer.ListKeys() {
		if obj, ok, _ := i.indexer.GetByKey(key); ok {
			h.OnAdd(obj, true)
		}
	}
	i.handlers = append(i.handlers, h)
	return synced{}, nil
}

func (i *syncInformer) AddEventHandlerWithResyncPeriod(h cache.ResourceEventHandler, _ time.Duration) (cache.ResourceEventHandlerRegistration, error) {
	return i.AddEventHandler(h)
}

func (i *syncInformer) AddEventHandlerWithOptions(h cache.ResourceEventHandler, _ cache.HandlerOptions) (cache.ResourceEventHandlerRegistration, error) {
	return i.AddEventHandler(h)
}

func (i *syncInformer) RemoveEventHandler(cache.ResourceEventHandlerRegistration) error { return nil }
func (i *syncInformer) GetStore() cache.Store                                           { return i.indexer }
func (i *syncInformer) GetIndexer() cache.Indexer                                       { return i.indexer }
func (i *syncInformer) GetController() cache.Controller                                 { return nil }
func (i *syncInformer) Run(<-chan struct{})                                             {}
func (i *syncInformer) RunWithContext(context.Context)                                  {}
func (i *syncInformer) HasSynced() bool                                                 { return true }
func (i *syncInformer) HasSyncedChecker() cache.DoneChecker                             { return synced{} }
func (i *syncInformer) LastSyncResourceVersion() string                                 { return "" }
func (i *syncInformer) SetWatchErrorHandler(cache.WatchErrorHandler) error              { return nil }
func (i *syncInformer) SetWatchErrorHandlerWithContext(cache.WatchErrorHandlerWithContext) error {
	return nil
}
func (i *syncInformer) SetTransform(cache.TransformFunc) error { return nil }
func (i *syncInformer) IsStopped() bool                        { return false }

// AddIndexers adds the indexers not there yet. A plugin adds its indexers when it is
// built; explain builds a profile's plugins a second time, over the same informers.
func (i *syncInformer) AddIndexers(indexers cache.Indexers) error {
	missing := cache.Indexers{}
	for name, f := range indexers {
		if _, ok := i.indexer.GetIndexers()[name]; !ok {
			missing[name] = f
		}
	}
	return i.indexer.AddIndexers(missing)
}

// synced is a registration and a DoneChecker that are done from the start: the store
// holds everything there is before the scheduler looks.
type synced struct{}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (synced) HasSynced() bool                     { return true }
func (synced) HasSyncedChecker() cache.DoneChecker { return synced{} }
func (synced) Name() string                        { return "berth-sim" }
func (synced) Done() <-chan struct{}               { return closedChan }

// listedTypes are the kinds upstream's scheduler (v1.37, default feature gates) watches
// besides pods, nodes and PodDisruptionBudgets: it only reads them, and nothing in a run
// writes them, so each is a synchronous informer holding the objects the run starts
// with. A regular informer would run a reflector, and a reflector draws from
// math/rand's global source whenever it starts or ends a watch; that source also
// decides preemption's candidate offset and the queue's metric sampling (which takes
// clock instants), so a reflector scheduled a little earlier or later under CPU load
// changed a run's virtual times, and after a run in the same process ended, its
// reflectors' exits changed the next run's.
var listedTypes = []runtime.Object{
	&v1.Namespace{}, &v1.Service{}, &v1.ReplicationController{},
	&v1.PersistentVolume{}, &v1.PersistentVolumeClaim{},
	&appsv1.ReplicaSet{}, &appsv1.StatefulSet{},
	&storagev1.StorageClass{}, &storagev1.CSINode{}, &storagev1.CSIDriver{},
	&storagev1.CSIStorageCapacity{}, &storagev1.VolumeAttachment{},
	&resourcev1.ResourceClaim{}, &resourcev1.ResourceSlice{}, &resourcev1.DeviceClass{},
	&resourcev1.DeviceTaintRule{},
}

// newInformerFactory is a shared informer factory over client in which every informer
// is synchronous: pods, nodes and PodDisruptionBudgets are the driver's (the budgets'
// status changes with the pods, see budgets), the listedTypes hold those of objects
// (the objects the fake client was created with). checkSynchronous verifies, once the
// scheduler has asked for its informers, that it asked for no other kind.
func newInformerFactory(client kubernetes.Interface, pods, nodes, pdbs *syncInformer, objects []runtime.Object) (informers.SharedInformerFactory, error) {
	f := informers.NewSharedInformerFactory(client, 0)
	f.InformerFor(&policyv1.PodDisruptionBudget{}, func(kubernetes.Interface, time.Duration) cache.SharedIndexInformer { return pdbs })
	f.InformerFor(&v1.Pod{}, func(kubernetes.Interface, time.Duration) cache.SharedIndexInformer { return pods })
	f.InformerFor(&v1.Node{}, func(kubernetes.Interface, time.Duration) cache.SharedIndexInformer { return nodes })
	byType := make(map[reflect.Type]*syncInformer, len(listedTypes))
	for _, obj := range listedTypes {
		inf := newSyncInformer()
		byType[reflect.TypeOf(obj)] = inf
		f.InformerFor(obj, func(kubernetes.Interface, time.Duration) cache.SharedIndexInformer { return inf })
	}
	for _, obj := range objects {
		if inf, ok := byType[reflect.TypeOf(obj)]; ok {
			if err := inf.add(obj); err != nil {
				return nil, err
			}
		}
	}
	return f, nil
}

// checkSynchronous starts the factory's informers and fails if any is not synchronous:
// a kind the scheduler watches (a newer Kubernetes, or a feature gate) that listedTypes
// lacks would otherwise run a reflector and make the run depend on timing.
func checkSynchronous(ctx context.Context, f informers.SharedInformerFactory) error {
	f.Start(ctx.Done())
	var unfed []string
	for typ := range f.WaitForCacheSync(ctx.Done()) {
		if _, ok := f.InformerFor(reflect.New(typ.Elem()).Interface().(runtime.Object), nil).(*syncInformer); !ok {
			unfed = append(unfed, typ.String())
		}
	}
	if len(unfed) > 0 {
		sort.Strings(unfed)
		return fmt.Errorf("the scheduler watches %s, which berth-sim does not simulate (add the kind to listedTypes in internal/sim/informers.go)", strings.Join(unfed, ", "))
	}
	return nil
}

package sim

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	v1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
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

// newInformerFactory is a shared informer factory over client whose pod, node and
// PodDisruptionBudget informers are the driver's synchronous ones (the budgets' status
// changes with the pods, see budgets). Every other informer the scheduler asks for
// (namespaces, storage, DRA) is a regular one over the fake client, filled once before
// the run starts.
func newInformerFactory(client kubernetes.Interface, pods, nodes, pdbs *syncInformer) informers.SharedInformerFactory {
	f := informers.NewSharedInformerFactory(client, 0)
	f.InformerFor(&policyv1.PodDisruptionBudget{}, func(kubernetes.Interface, time.Duration) cache.SharedIndexInformer { return pdbs })
	f.InformerFor(&v1.Pod{}, func(kubernetes.Interface, time.Duration) cache.SharedIndexInformer { return pods })
	f.InformerFor(&v1.Node{}, func(kubernetes.Interface, time.Duration) cache.SharedIndexInformer { return nodes })
	return f
}

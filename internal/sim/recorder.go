package sim

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/scheduler/profile"
)

// Event is one event the scheduler recorded, as a user would read it: the message is
// formatted exactly as client-go's recorder formats it (the note is a printf format).
type Event struct {
	// At is the virtual time of the event.
	At time.Duration `json:"at"`
	// Object is namespace/name of the object the event is about; Related, of the object
	// it names as related (the preemptor, for a victim's event), if any.
	Object  string `json:"object"`
	Related string `json:"related,omitempty"`
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Action  string `json:"action"`
	Message string `json:"message"`
}

// recorder keeps the events of a run. It is what the scheduler's profiles get as their
// event recorder.
type recorder struct {
	clock *virtualClock

	mu     sync.Mutex
	events []Event
}

var _ events.EventRecorderLogger = &recorder{}

func (r *recorder) factory() profile.RecorderFactory {
	return func(string) events.EventRecorderLogger { return r }
}

func (r *recorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	// elapsed, not Now: the scheduler's binding goroutine records events too, and
	// taking an instant from it would make the driver's instants depend on timing.
	e := Event{At: r.clock.elapsed(), Object: key(regarding), Related: key(related), Type: eventtype,
		Reason: reason, Action: action, Message: fmt.Sprintf(note, args...)}
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

func (r *recorder) AnnotatedEventf(regarding, related runtime.Object, _ map[string]string, eventtype, reason, action, note string, args ...interface{}) {
	r.Eventf(regarding, related, eventtype, reason, action, note, args...)
}

func (r *recorder) WithLogger(klog.Logger) events.EventRecorderLogger { return r }

// peek returns the events recorded and not yet taken.
func (r *recorder) peek() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.events)
}

// take returns the events recorded so far and forgets them.
func (r *recorder) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events = nil
	return e
}

func key(obj runtime.Object) string {
	if obj == nil {
		return ""
	}
	if m, err := metaOf(obj); err == nil {
		if m.GetNamespace() == "" {
			return m.GetName()
		}
		return m.GetNamespace() + "/" + m.GetName()
	}
	return ""
}

package sim

import (
	"sync"
	"time"

	testingclock "k8s.io/utils/clock/testing"
)

// Epoch is virtual time zero: every run starts its clock here, so that times written
// into objects (creation, start, deletion) are the same in every run.
var Epoch = time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC)

// virtualClock is the scheduler's clock in a run. Time only moves when the driver
// advances it, so a day of workload takes as long as its scheduling work.
//
// Now never returns the same instant twice: each call is one nanosecond after the
// previous one. The scheduling queue orders pods of equal priority by the time they
// were queued, and moves pods between its sub-queues in map order; with a clock that
// stood still, pods queued "at the same instant" would tie and the map order would
// leak into the scheduling order. Distinct instants make every tie impossible, and
// as all calls come from the run's single driver goroutine, the sequence of instants
// is itself a function of the inputs. Timers (After, NewTimer, tickers) are the
// embedded fake clock's: they fire when the driver advances time past them.
type virtualClock struct {
	*testingclock.FakeClock

	mu   sync.Mutex
	last time.Time
}

func newVirtualClock() *virtualClock {
	return &virtualClock{FakeClock: testingclock.NewFakeClock(Epoch), last: Epoch.Add(-1)}
}

// Now returns the current virtual time, strictly after every earlier result.
func (c *virtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.FakeClock.Now()
	if !t.After(c.last) {
		t = c.last.Add(time.Nanosecond)
	}
	c.last = t
	return t
}

// Since is Now() - t.
func (c *virtualClock) Since(t time.Time) time.Duration { return c.Now().Sub(t) }

// advanceTo moves virtual time to t (never backwards) and fires the timers due.
func (c *virtualClock) advanceTo(t time.Time) {
	if t.After(c.FakeClock.Now()) {
		c.FakeClock.SetTime(t)
	}
}

// elapsed is the virtual time since Epoch, without taking an instant.
func (c *virtualClock) elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.FakeClock.Now()
	if c.last.After(t) {
		t = c.last
	}
	return t.Sub(Epoch)
}

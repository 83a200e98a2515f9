// Package cyclestate reads what a plugin's PreFilter, PreScore or PostFilter wrote into
// the cycle state, with one error text for every berth plugin. Each plugin wraps it in
// getPreFilterState / getPreScoreState, as upstream's plugins name theirs.
package cyclestate

import (
	"fmt"

	fwk "k8s.io/kube-scheduler/framework"
)

// Read returns the T that the plugin wrote under key at extension point point
// ("preFilter", "preScore", "postFilter": a profile's spelling, since a missing state
// usually means the plugin is enabled at a later extension point but not there).
func Read[T fwk.StateData](cs fwk.CycleState, key fwk.StateKey, point string) (T, error) {
	var zero T
	d, err := cs.Read(key)
	if err != nil {
		return zero, fmt.Errorf("reading %q from cycleState (is the plugin enabled at %s as well?): %w", key, point, err)
	}
	s, ok := d.(T)
	if !ok {
		return zero, fmt.Errorf("invalid %s state %q: got type %T, want %T", point, key, d, zero)
	}
	return s, nil
}

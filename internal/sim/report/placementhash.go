package report

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/berth-sched/berth/internal/sim"
)

// placementHash is the hex sha256 of one line per workload pod, in byte order of the
// pods' namespace/name:
//
//	namespace/name TAB outcome TAB node TAB boundMs TAB endedMs TAB preemptedBy LF
//
// where boundMs and endedMs are the virtual bind and end times rounded to the
// millisecond, in decimal, -1 for never, and node and preemptedBy are "" when there is
// none. Names cannot hold tabs or newlines, so the encoding is unambiguous: two runs
// with the same hash put every pod on the same node with the same outcome, at the same
// times to the millisecond, evicted by the same pod. Attempts, messages, events and
// wall time are not hashed; a pod's victims are (they are the pods whose preemptedBy
// names it).
func (f *facts) placementHash(res *sim.Result) string {
	h := sha256.New()
	var line []byte
	for _, i := range f.byName {
		p := &res.Pods[i]
		line = append(line[:0], f.pods[i].name...)
		line = append(append(line, '\t'), p.Outcome...)
		line = append(append(line, '\t'), p.Node...)
		line = strconv.AppendInt(append(line, '\t'), millis(p.BoundAt), 10)
		line = strconv.AppendInt(append(line, '\t'), millis(p.EndedAt), 10)
		line = append(append(line, '\t'), p.PreemptedBy...)
		h.Write(append(line, '\n'))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// millis rounds a virtual time to the millisecond; -1 (never) stays -1.
func millis(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	return d.Round(time.Millisecond).Milliseconds()
}

package qosplacement

import (
	"sync"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestANodeKeepsItsMemosWhenTheyArePublished(t *testing.T) {
	x := newNodeIndex()
	a, b := &v1.Node{}, &v1.Node{}
	ma := x.get(a)
	if x.get(a) != ma {
		t.Fatal("a second call before publish returned other memos")
	}
	x.publish()
	if x.get(a) != ma {
		t.Error("publish changed the node's memos")
	}
	if _, ok := (*x.published.Load())[a]; !ok {
		t.Error("after publish the node is not read without the lock")
	}
	if x.get(b) == ma {
		t.Error("two node objects share memos")
	}
	if n := x.len(); n != 2 {
		t.Errorf("len %d, want 2 (one published, one added)", n)
	}
}

func TestRetainKeepsOnlyLiveNodeObjectsPublishedOrNot(t *testing.T) {
	x := newNodeIndex()
	live, gone, liveNew, goneNew := &v1.Node{}, &v1.Node{}, &v1.Node{}, &v1.Node{}
	mLive := x.get(live)
	x.get(gone)
	x.publish()
	mLiveNew := x.get(liveNew)
	x.get(goneNew)
	x.retain(map[*v1.Node]struct{}{live: {}, liveNew: {}})
	if n := x.len(); n != 2 {
		t.Fatalf("len %d after retain, want 2", n)
	}
	if x.get(live) != mLive || x.get(liveNew) != mLiveNew {
		t.Error("retain replaced a live node's memos")
	}
}

// Run with -race: parallel Filter and Score workers call get while PreFilter of the
// next cycle is not running (the scheduler never overlaps them), but workers race
// each other on new nodes.
func TestConcurrentFirstCallsOnANodeGetTheSameMemos(t *testing.T) {
	x := newNodeIndex()
	node := &v1.Node{}
	got := make([]*nodeMemos, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() { defer wg.Done(); got[i] = x.get(node) }()
	}
	wg.Wait()
	for _, m := range got {
		if m != got[0] {
			t.Fatal("concurrent first calls made different memos for one node")
		}
	}
}

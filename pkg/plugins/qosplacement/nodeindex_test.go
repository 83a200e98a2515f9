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

// Publishing copies the published map, so it waits until the new node objects are an
// eighth of the published ones (amortised O(1) per node, not O(nodes) per cycle); the
// pending ones keep their memos meanwhile and are published with the batch.
func TestPublishWaitsForABatchOfNewNodeObjects(t *testing.T) {
	x := newNodeIndex()
	for i := 0; i < 80; i++ {
		x.get(&v1.Node{})
	}
	x.publish()
	if n := len(*x.published.Load()); n != 80 {
		t.Fatalf("first publish: %d published, want 80", n)
	}
	pending := make([]*v1.Node, 10)
	memos := make([]*nodeMemos, 10)
	for i := range pending {
		pending[i] = &v1.Node{}
		memos[i] = x.get(pending[i])
		before := x.published.Load()
		x.publish()
		published := x.published.Load() != before
		// 10 pending against 80 published is the first batch of an eighth.
		if want := i == 9; published != want {
			t.Fatalf("after %d new node objects: published %v, want %v", i+1, published, want)
		}
	}
	for i, n := range pending {
		if _, ok := (*x.published.Load())[n]; !ok {
			t.Errorf("node %d of the batch is not published", i)
		}
		if x.get(n) != memos[i] {
			t.Errorf("node %d got other memos after publication", i)
		}
	}
	if n := x.len(); n != 90 {
		t.Errorf("len %d, want 90", n)
	}
}

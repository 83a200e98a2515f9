package app

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestProgressLineAppearsOnlyAfterTwoSeconds(t *testing.T) {
	var quick bytes.Buffer
	p := newProgress(&quick)
	p.update(5, 10)
	p.finish()
	if quick.Len() != 0 {
		t.Errorf("a comparison under %v printed progress: %q", progressAfter, quick.String())
	}

	var slow bytes.Buffer
	p = newProgress(&slow)
	p.start = time.Now().Add(-progressAfter - time.Second)
	p.update(500, 1000)
	p.finish()
	if out := slow.String(); !strings.Contains(out, "replaying") || !strings.Contains(out, "500/1000") || !strings.Contains(out, "pods") {
		t.Errorf("progress line %q lacks the description and the count", out)
	}
}

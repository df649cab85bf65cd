package main

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// gcHeadroom is how far the heap may grow past what is live before a
// collection, at least, under `credvault serve`: a small heap (one busy
// organization) then collects a few times a second instead of tens, and a
// large one (the caches of many organizations) grows by gcMinPercent
// (20 %) rather than Go's 100 %: its resident memory is about its live
// heap plus that share, and what it costs in collections is measured in
// docs/BENCHMARKS.md (the load program's memory run).
const (
	gcHeadroom   = 8 << 20
	gcMinPercent = 20
	gcMaxPercent = 400
)

// tuneGC sets the collector's target from the live heap twice a second
// until ctx ends: GOGC = 100 × gcHeadroom / live, within [gcMinPercent,
// gcMaxPercent]. It is started only when GOGC is not set.
func tuneGC(ctx context.Context) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	set := -1
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		metrics.Read(sample)
		if p := gcPercentFor(sample[0].Value.Uint64()); p != set {
			debug.SetGCPercent(p)
			set = p
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// gcPercentFor is the target tuneGC sets for a live heap of live bytes.
func gcPercentFor(live uint64) int {
	if live == 0 {
		return gcMaxPercent
	}
	p := int(100 * uint64(gcHeadroom) / live)
	return min(max(p, gcMinPercent), gcMaxPercent)
}

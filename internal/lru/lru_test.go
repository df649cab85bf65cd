package lru

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	var evicted []string
	c := New[string, int](3, clk.now, func(k string, _ int) { evicted = append(evicted, k) })
	for i, k := range []string{"a", "b", "c"} {
		c.Add(k, i, time.Hour)
	}
	// "a" is used after a promotion interval: it becomes the most recent.
	clk.t = clk.t.Add(2 * promoteEvery)
	if v, ok := c.Get("a"); !ok || v != 0 {
		t.Fatalf("Get(a) = %v %v", v, ok)
	}
	c.Add("d", 3, time.Hour)
	if _, ok := c.Get("b"); ok {
		t.Fatal("b, the least recently used, is still cached")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("%s was evicted", k)
		}
	}
	if c.Len() != 3 || fmt.Sprint(evicted) != "[b]" {
		t.Fatalf("len %d, evicted %v", c.Len(), evicted)
	}
}

func TestExpiredEntriesAreMisses(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := New[string, int](10, clk.now, nil)
	c.Add("k", 1, time.Minute)
	clk.t = clk.t.Add(time.Minute)
	if _, ok := c.Get("k"); ok {
		t.Fatal("an expired entry was returned")
	}
	c.Add("k", 2, time.Minute)
	if v, ok := c.Get("k"); !ok || v != 2 || c.Len() != 1 {
		t.Fatalf("re-added entry: %v %v, len %d", v, ok, c.Len())
	}
}

func TestRemoveIfAndPurge(t *testing.T) {
	var evicted int
	c := New[int, int](100, nil, func(int, int) { evicted++ })
	for i := range 10 {
		c.Add(i, i, time.Hour)
	}
	c.RemoveIf(func(k, _ int) bool { return k%2 == 0 })
	if c.Len() != 5 || evicted != 5 {
		t.Fatalf("after RemoveIf: len %d, evicted %d", c.Len(), evicted)
	}
	if !c.Remove(1) || c.Remove(1) {
		t.Fatal("Remove did not report presence")
	}
	c.Purge()
	if c.Len() != 0 || evicted != 10 {
		t.Fatalf("after Purge: len %d, evicted %d", c.Len(), evicted)
	}
}

// TestBoundedUnderConcurrentUse: many goroutines adding distinct keys
// never grow the cache past its size (run with -race).
func TestBoundedUnderConcurrentUse(t *testing.T) {
	c := New[string, int](64, nil, nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				k := fmt.Sprint(g, "/", i)
				c.Add(k, i, time.Hour)
				c.Get(k)
				c.Get(fmt.Sprint(g, "/", i/2))
			}
		})
	}
	wg.Wait()
	if c.Len() != 64 {
		t.Fatalf("len %d, want the size 64", c.Len())
	}
}

func BenchmarkGetHit(b *testing.B) {
	c := New[string, int](1024, nil, nil)
	c.Add("k", 1, time.Hour)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Get("k")
		}
	})
}

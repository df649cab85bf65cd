// Package lru is the bounded, least-recently-used cache behind every
// cache credvault keeps (API keys, credential rows, service clients): a
// map and a recency list under one lock, with entries that expire.
//
// A hit takes the read lock only: an entry is moved to the front at most
// once per promoteEvery, so a steady stream of reads of a hot entry does
// not serialise on the write lock, while an entry unused for longer than
// that still ages towards eviction.
package lru

import (
	"sync"
	"sync/atomic"
	"time"
)

// promoteEvery is how stale an entry's recency may get before a hit moves
// it to the front.
const promoteEvery = time.Second

// Cache holds at most Size entries; adding one more evicts the least
// recently used. It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	size    int
	now     func() time.Time
	onEvict func(K, V)

	mu      sync.RWMutex
	entries map[K]*entry[K, V]
	// root is the sentinel of the recency ring: root.next is the most
	// recently used entry, root.prev the least. The links live in the
	// entries themselves (one allocation per entry).
	root entry[K, V]
	n    int
}

type entry[K comparable, V any] struct {
	prev, next *entry[K, V]
	key        K
	value      V
	expires    int64        // unix nanoseconds
	added      int64        // unix nanoseconds
	used       atomic.Int64 // unix nanoseconds of the last promotion
}

// New returns a cache of at most size entries (at least 1). now is the
// clock (nil: time.Now). onEvict, when not nil, is called under the
// cache's lock for every entry that leaves it (evicted, removed or
// purged), so a caller can keep an index of the keys in step; it must not
// call the cache.
func New[K comparable, V any](size int, now func() time.Time, onEvict func(K, V)) *Cache[K, V] {
	if now == nil {
		now = time.Now
	}
	c := &Cache[K, V]{size: max(size, 1), now: now, onEvict: onEvict, entries: map[K]*entry[K, V]{}}
	c.root.next, c.root.prev = &c.root, &c.root
	return c
}

// Get returns the value under k if it is there and has not expired.
func (c *Cache[K, V]) Get(k K) (V, bool) {
	v, _, ok := c.GetAge(k)
	return v, ok
}

// GetAge is Get that also says how long ago the value was added.
func (c *Cache[K, V]) GetAge(k K) (V, time.Duration, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	var zero V
	if !ok {
		return zero, 0, false
	}
	now := c.now().UnixNano()
	if now >= e.expires {
		return zero, 0, false
	}
	if last := e.used.Load(); now-last > int64(promoteEvery) && e.used.CompareAndSwap(last, now) {
		c.mu.Lock()
		if cur, ok := c.entries[k]; ok && cur == e {
			c.unlink(e)
			c.pushFront(e)
		}
		c.mu.Unlock()
	}
	return e.value, time.Duration(now - e.added), true
}

// Add stores v under k until ttl from now, evicting the least recently
// used entry when the cache is full. Call it under WithLock's lock with
// AddLocked instead when the decision to add depends on other state.
func (c *Cache[K, V]) Add(k K, v V, ttl time.Duration) {
	c.mu.Lock()
	c.AddLocked(k, v, ttl)
	c.mu.Unlock()
}

// AddLocked is Add for a caller holding the lock (inside WithLock).
func (c *Cache[K, V]) AddLocked(k K, v V, ttl time.Duration) {
	now := c.now()
	e := &entry[K, V]{key: k, value: v, expires: now.Add(ttl).UnixNano(), added: now.UnixNano()}
	e.used.Store(now.UnixNano())
	if old, ok := c.entries[k]; ok {
		c.remove(old)
	}
	c.entries[k] = e
	c.pushFront(e)
	for c.n > c.size {
		c.remove(c.root.prev)
	}
}

// Remove drops k, reporting whether it was there.
func (c *Cache[K, V]) Remove(k K) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.RemoveLocked(k)
}

// RemoveLocked is Remove for a caller holding the lock (inside WithLock).
func (c *Cache[K, V]) RemoveLocked(k K) bool {
	e, ok := c.entries[k]
	if ok {
		c.remove(e)
	}
	return ok
}

// RemoveIf drops every entry for which drop returns true (a walk of the
// whole cache: for rare events such as a revoked key).
func (c *Cache[K, V]) RemoveIf(drop func(K, V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.RemoveIfLocked(drop)
}

// RemoveIfLocked is RemoveIf for a caller holding the lock (inside
// WithLock).
func (c *Cache[K, V]) RemoveIfLocked(drop func(K, V) bool) {
	for e := c.root.next; e != &c.root; {
		next := e.next
		if drop(e.key, e.value) {
			c.remove(e)
		}
		e = next
	}
}

// Purge drops every entry.
func (c *Cache[K, V]) Purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.n > 0 {
		c.remove(c.root.prev)
	}
}

// WithLock runs f holding the cache's write lock, so the caller can check
// its own state and add or remove (AddLocked, RemoveLocked) atomically.
func (c *Cache[K, V]) WithLock(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f()
}

// Len is the number of entries, expired ones included until they are
// evicted or replaced.
func (c *Cache[K, V]) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.n
}

func (c *Cache[K, V]) pushFront(e *entry[K, V]) {
	e.prev, e.next = &c.root, c.root.next
	c.root.next.prev = e
	c.root.next = e
	c.n++
}

func (c *Cache[K, V]) unlink(e *entry[K, V]) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	c.n--
}

func (c *Cache[K, V]) remove(e *entry[K, V]) {
	c.unlink(e)
	delete(c.entries, e.key)
	if c.onEvict != nil {
		c.onEvict(e.key, e.value)
	}
}

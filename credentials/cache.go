package credentials

import (
	"context"
	"strings"
	"time"

	"github.com/credvault/credvault/internal/lru"
	"github.com/credvault/credvault/store"
)

// rowCache keeps the rows the REST reads and the automation's hot path
// read (Get, GetWithSecret, TOTP codes), so a steady stream of reads makes
// no database query. Every change through this process drops the row at
// once; changes through other processes arrive as notifications
// (Invalidate); entries expire after the TTL anyway. It holds at most its
// size in rows, evicting the least recently used.
type rowCache struct {
	ttl   time.Duration
	cache *lru.Cache[rowKey, store.Credential]

	// orgs indexes the cached rows by organization (to drop them all at
	// once) and counts the changes of each organization while a load is
	// in flight, so a load that raced a change is not cached. An
	// organization leaves it when it has neither rows nor loads: the
	// index is bounded by the cache, not by every organization ever seen.
	// Guarded by the cache's lock (lru.Cache.WithLock).
	orgs map[string]*orgRows
}

type rowKey struct{ org, id string }

type orgRows struct {
	ids     map[string]struct{}
	gen     uint64
	loading int
}

// DefaultRowCacheSize is how many credential rows a process caches when
// the size is not set (CREDVAULT_CACHE_ROWS).
const DefaultRowCacheSize = 100_000

func newRowCache(ttl time.Duration, size int) *rowCache {
	if size <= 0 {
		size = DefaultRowCacheSize
	}
	c := &rowCache{ttl: ttl, orgs: map[string]*orgRows{}}
	c.cache = lru.New(size, nil, func(k rowKey, _ store.Credential) {
		if o := c.orgs[k.org]; o != nil {
			delete(o.ids, k.id)
			c.forget(k.org, o)
		}
	})
	return c
}

// forget drops o from the index once it has neither rows nor loads.
func (c *rowCache) forget(org string, o *orgRows) {
	if len(o.ids) == 0 && o.loading == 0 {
		delete(c.orgs, org)
	}
}

func (c *rowCache) get(ctx context.Context, orgID, id string, load func(context.Context, string, string) (store.Credential, error)) (store.Credential, error) {
	k := rowKey{orgID, id}
	if r, ok := c.cache.Get(k); ok {
		return r, nil
	}
	var gen uint64
	c.cache.WithLock(func() {
		o := c.orgs[orgID]
		if o == nil {
			o = &orgRows{ids: map[string]struct{}{}}
			c.orgs[orgID] = o
		}
		o.loading++
		gen = o.gen
	})
	r, err := load(ctx, orgID, id)
	c.cache.WithLock(func() {
		o := c.orgs[orgID] // still there: our load holds it
		if err == nil && o.gen == gen { // not changed while we read
			// Added first: replacing a copy another load stored evicts it,
			// and o, still loading, stays indexed meanwhile.
			c.cache.AddLocked(k, r, c.ttl)
			o.ids[id] = struct{}{}
		}
		o.loading--
		c.forget(orgID, o)
	})
	return r, err
}

// drop forgets one credential ("*": every credential of the organization).
func (c *rowCache) drop(orgID, id string) {
	c.cache.WithLock(func() {
		o := c.orgs[orgID]
		if o == nil {
			return // nothing cached nor loading
		}
		o.gen++
		if id != "*" {
			c.cache.RemoveLocked(rowKey{orgID, id})
			return
		}
		for id := range o.ids {
			c.cache.RemoveLocked(rowKey{orgID, id}) // deletes from o.ids
		}
	})
}

func (c *rowCache) flush() {
	c.cache.WithLock(func() {
		for _, o := range c.orgs {
			o.gen++
		}
	})
	c.cache.Purge()
}

// Invalidate drops what is cached for a changed credential, as published
// by the store ("orgID/credentialID", or "orgID/*" for all of them).
func (s *Service) Invalidate(payload string) {
	org, id, ok := strings.Cut(payload, "/")
	if !ok {
		return
	}
	s.rows.drop(org, id)
}

// Flush drops every cached row (a change notification may have been
// missed).
func (s *Service) Flush() { s.rows.flush() }

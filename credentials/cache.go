package credentials

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/credvault/credvault/internal/lru"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
)

// rowCache keeps the rows the REST reads and the automation's hot path
// read (Get, GetWithSecret, TOTP codes), so a steady stream of reads makes
// no database query. Every change through this process drops the row at
// once; changes through other processes arrive as notifications
// (Invalidate); entries expire after the TTL anyway. It holds at most its
// size in rows, evicting the least recently used.
type rowCache struct {
	ttl time.Duration
	// mustCheck, when set, says a hit of that age is read again first
	// (WithRevalidate).
	mustCheck func(age time.Duration) bool
	cache     *lru.Cache[rowKey, store.Credential]

	// loads counts, per organization with a load in flight, its changes
	// meanwhile, so a load that raced a change is not cached. An
	// organization is in it only while one of its rows is being read:
	// nothing here grows with the organizations ever seen. Guarded by the
	// cache's lock (lru.Cache.WithLock).
	loads map[string]*orgLoads
}

type rowKey struct{ org, id string }

type orgLoads struct {
	gen     uint64
	loading int
}

// DefaultRowCacheSize is how many credential rows a process caches when
// the size is not set (CREDVAULT_CACHE_ROWS).
const DefaultRowCacheSize = 50_000

func newRowCache(ttl time.Duration, size int) *rowCache {
	if size <= 0 {
		size = DefaultRowCacheSize
	}
	return &rowCache{ttl: ttl, cache: lru.New[rowKey, store.Credential](size, nil, nil), loads: map[string]*orgLoads{}}
}

func (c *rowCache) get(ctx context.Context, orgID, id string, load func(context.Context, string, string) (store.Credential, error)) (store.Credential, error) {
	k := rowKey{orgID, id}
	r, age, ok := c.cache.GetAge(k)
	if !ok {
		return c.load(ctx, k, load)
	}
	if c.mustCheck == nil || !c.mustCheck(age) {
		return r, nil
	}
	fresh, err := c.load(ctx, k, load)
	switch {
	case err == nil:
		return fresh, nil
	case errors.Is(err, problem.ErrUnavailable):
		return r, nil // the database is out: nothing can have changed it
	}
	c.cache.Remove(k)
	return store.Credential{}, err
}

// load reads k's row and caches it unless a change raced the read.
func (c *rowCache) load(ctx context.Context, k rowKey, load func(context.Context, string, string) (store.Credential, error)) (store.Credential, error) {
	orgID, id := k.org, k.id
	var o *orgLoads
	var gen uint64
	c.cache.WithLock(func() {
		if o = c.loads[orgID]; o == nil {
			o = &orgLoads{}
			c.loads[orgID] = o
		}
		o.loading++
		gen = o.gen
	})
	r, err := load(ctx, orgID, id)
	c.cache.WithLock(func() {
		if err == nil && o.gen == gen { // not changed while we read
			c.cache.AddLocked(k, compact(r), c.ttl)
		}
		if o.loading--; o.loading == 0 {
			delete(c.loads, orgID)
		}
	})
	return r, err
}

// compact returns r with its text columns moved into one string: a cached
// row is then one allocation of text instead of one per column (a third
// less memory per row, and fewer objects for the collector to trace).
func compact(r store.Credential) store.Credential {
	fields := [...]*string{&r.ID, &r.OrganizationID, &r.Name, &r.CredentialType, &r.VaultType, &r.ItemID, &r.VaultSource,
		&r.Username, &r.TOTPType, &r.TOTPIdentifier, &r.CardLastFour, &r.CardBrand, &r.SecretLabel}
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range fields {
		b.WriteString(*f)
	}
	all, off := b.String(), 0
	for _, f := range fields {
		l := len(*f)
		*f = all[off : off+l]
		off += l
	}
	return r
}

// drop forgets one credential ("*": every credential of the organization,
// a walk of the cache for what is rare: a folder deleted or a
// notification naming no credential).
func (c *rowCache) drop(orgID, id string) {
	c.cache.WithLock(func() {
		if o := c.loads[orgID]; o != nil {
			o.gen++
		}
		if id != "*" {
			c.cache.RemoveLocked(rowKey{orgID, id})
			return
		}
		c.cache.RemoveIfLocked(func(k rowKey, _ store.Credential) bool { return k.org == orgID })
	})
}

func (c *rowCache) flush() {
	c.cache.WithLock(func() {
		for _, o := range c.loads {
			o.gen++
		}
		c.cache.RemoveIfLocked(func(rowKey, store.Credential) bool { return true })
	})
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

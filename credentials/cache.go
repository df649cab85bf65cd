package credentials

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/credvault/credvault/store"
)

// rowCache keeps the rows the automation's hot path reads (GetWithSecret,
// TOTP codes) so a steady stream of reads makes no database query. Every
// change through this process drops the row at once; changes through
// other processes arrive as notifications (Invalidate); entries expire
// after the TTL anyway.
type rowCache struct {
	ttl time.Duration
	now func() time.Time

	mu   sync.RWMutex
	rows map[string]map[string]rowEntry // organization → credential → row
	gen  map[string]uint64
	size int
}

type rowEntry struct {
	row     store.Credential
	expires time.Time
}

const maxCachedRows = 200_000

func newRowCache(ttl time.Duration) *rowCache {
	return &rowCache{ttl: ttl, now: time.Now, rows: map[string]map[string]rowEntry{}, gen: map[string]uint64{}}
}

func (c *rowCache) get(ctx context.Context, orgID, id string, load func(context.Context, string, string) (store.Credential, error)) (store.Credential, error) {
	c.mu.RLock()
	e, ok := c.rows[orgID][id]
	gen := c.gen[orgID]
	c.mu.RUnlock()
	if ok && c.now().Before(e.expires) {
		return e.row, nil
	}
	r, err := load(ctx, orgID, id)
	if err != nil {
		return r, err
	}
	c.mu.Lock()
	if c.gen[orgID] == gen { // not changed while we read
		if c.size >= maxCachedRows {
			clear(c.rows)
			c.size = 0
		}
		m := c.rows[orgID]
		if m == nil {
			m = map[string]rowEntry{}
			c.rows[orgID] = m
		}
		if _, had := m[id]; !had {
			c.size++
		}
		m[id] = rowEntry{row: r, expires: c.now().Add(c.ttl)}
	}
	c.mu.Unlock()
	return r, nil
}

// drop forgets one credential ("*": every credential of the organization).
func (c *rowCache) drop(orgID, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen[orgID]++
	if id == "*" {
		c.size -= len(c.rows[orgID])
		delete(c.rows, orgID)
		return
	}
	if _, ok := c.rows[orgID][id]; ok {
		delete(c.rows[orgID], id)
		c.size--
	}
}

func (c *rowCache) flush() {
	c.mu.Lock()
	for org := range c.rows {
		c.gen[org]++
	}
	clear(c.rows)
	c.size = 0
	c.mu.Unlock()
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

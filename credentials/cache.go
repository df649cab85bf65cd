package credentials

import (
	"context"
	"errors"
	"math"
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
	cache     *lru.Cache[rowKey, packedRow]

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
	return &rowCache{ttl: ttl, cache: lru.New[rowKey, packedRow](size, nil, nil), loads: map[string]*orgLoads{}}
}

func (c *rowCache) get(ctx context.Context, orgID, id string, load func(context.Context, string, string) (store.Credential, error)) (store.Credential, error) {
	k := rowKey{orgID, id}
	p, age, ok := c.cache.GetAge(k)
	if !ok {
		return c.load(ctx, k, load)
	}
	r := p.unpack()
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
		if err == nil && o.gen == gen && r.ID == id && r.OrganizationID == orgID { // not changed while we read
			if p, ok := pack(r); ok {
				c.cache.AddLocked(p.key(), p, c.ttl)
			}
		}
		if o.loading--; o.loading == 0 {
			delete(c.loads, orgID)
		}
	})
	return r, err
}

// packedRow is a cached row in the least memory that gives it back
// whole: its text columns in one string (one allocation instead of one
// per column), their ends as offsets, and the settings a row rarely has
// behind one pointer, nil when it has none. A row is about 150 bytes
// here against 350 as a store.Credential, plus its text.
type packedRow struct {
	text       string
	ends       [textColumns]uint16
	settings   *rowSettings
	version    int64
	createdAt  time.Time
	modifiedAt time.Time
}

const textColumns = 13

// rowSettings is the rest of a row: Skyvern's optional settings and the
// rarely set times.
type rowSettings struct {
	folderID, testedURL, userContext, browserProfileID *string
	autoProfileDisabled, saveBrowserSessionIntent      *bool
	pinSavedSessionIP, runSequentially                 bool
	proxyLocation, proxySessionID                      *string
	itemMissingAt, deletedAt                           *time.Time
}

// textOf lists r's text columns, in the order packedRow keeps them.
func textOf(r *store.Credential) [textColumns]*string {
	return [...]*string{&r.ID, &r.OrganizationID, &r.Name, &r.CredentialType, &r.VaultType, &r.ItemID, &r.VaultSource,
		&r.Username, &r.TOTPType, &r.TOTPIdentifier, &r.CardLastFour, &r.CardBrand, &r.SecretLabel}
}

// pack returns r packed; false when its text is too long for the offsets
// (such a row is not cached).
func pack(r store.Credential) (packedRow, bool) {
	fields := textOf(&r)
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	if n > math.MaxUint16 {
		return packedRow{}, false
	}
	var b strings.Builder
	b.Grow(n)
	p := packedRow{version: r.Version, createdAt: r.CreatedAt, modifiedAt: r.ModifiedAt}
	for i, f := range fields {
		b.WriteString(*f)
		p.ends[i] = uint16(b.Len())
	}
	p.text = b.String()
	st := rowSettings{folderID: r.FolderID, testedURL: r.TestedURL, userContext: r.UserContext, browserProfileID: r.BrowserProfileID,
		autoProfileDisabled: r.AutoProfileDisabled, saveBrowserSessionIntent: r.SaveBrowserSessionIntent,
		pinSavedSessionIP: r.PinSavedSessionIP, runSequentially: r.RunSequentially, proxyLocation: r.ProxyLocation,
		proxySessionID: r.ProxySessionID, itemMissingAt: r.ItemMissingAt, deletedAt: r.DeletedAt}
	if st != (rowSettings{}) {
		p.settings = &st
	}
	return p, true
}

// key is p's cache key made of the row's own ids, inside its text: not
// the request's strings, which hold the whole request line.
func (p packedRow) key() rowKey {
	// ID and OrganizationID are textOf's first two columns.
	return rowKey{org: p.text[p.ends[0]:p.ends[1]], id: p.text[:p.ends[0]]}
}

// unpack is the row p was packed from (its strings share p's text, its
// pointers p's targets: callers copy before they change what a pointer
// points to, as they do with any row).
func (p packedRow) unpack() store.Credential {
	r := store.Credential{Version: p.version, CreatedAt: p.createdAt, ModifiedAt: p.modifiedAt}
	start := 0
	for i, f := range textOf(&r) {
		end := int(p.ends[i])
		*f = p.text[start:end]
		start = end
	}
	if st := p.settings; st != nil {
		r.FolderID, r.TestedURL, r.UserContext, r.BrowserProfileID = st.folderID, st.testedURL, st.userContext, st.browserProfileID
		r.AutoProfileDisabled, r.SaveBrowserSessionIntent = st.autoProfileDisabled, st.saveBrowserSessionIntent
		r.PinSavedSessionIP, r.RunSequentially = st.pinSavedSessionIP, st.runSequentially
		r.ProxyLocation, r.ProxySessionID, r.ItemMissingAt, r.DeletedAt = st.proxyLocation, st.proxySessionID, st.itemMissingAt, st.deletedAt
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
		c.cache.RemoveIfLocked(func(k rowKey, _ packedRow) bool { return k.org == orgID })
	})
}

func (c *rowCache) flush() {
	c.cache.WithLock(func() {
		for _, o := range c.loads {
			o.gen++
		}
		c.cache.RemoveIfLocked(func(rowKey, packedRow) bool { return true })
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

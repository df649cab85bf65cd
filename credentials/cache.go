package credentials

import (
	"context"
	"errors"
	"hash/maphash"
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
	// cache is keyed by a hash of the row's organization and id (8 bytes
	// a slot instead of two strings); a hit is checked against the row's
	// own ids, so two rows sharing a hash are told apart.
	cache *lru.Cache[uint64, packedRow]
	seed  maphash.Seed

	// loads counts, per organization with a load in flight, its changes
	// meanwhile, so a load that raced a change is not cached. An
	// organization is in it only while one of its rows is being read:
	// nothing here grows with the organizations ever seen. Guarded by the
	// cache's lock (lru.Cache.WithLock).
	loads map[string]*orgLoads
}

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
	return &rowCache{ttl: ttl, cache: lru.New[uint64, packedRow](size, nil, nil), seed: maphash.MakeSeed(), loads: map[string]*orgLoads{}}
}

// slot is where the row of orgID and id is cached.
func (c *rowCache) slot(orgID, id string) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	h.WriteString(orgID)
	h.WriteByte(0)
	h.WriteString(id)
	return h.Sum64()
}

func (c *rowCache) get(ctx context.Context, orgID, id string, load func(context.Context, string, string) (store.Credential, error)) (store.Credential, error) {
	k := c.slot(orgID, id)
	p, age, ok := c.cache.GetAge(k)
	if !ok || p.id() != id || p.org() != orgID {
		return c.load(ctx, k, orgID, id, load)
	}
	r := p.unpack()
	if c.mustCheck == nil || !c.mustCheck(age) {
		return r, nil
	}
	fresh, err := c.load(ctx, k, orgID, id, load)
	switch {
	case err == nil:
		return fresh, nil
	case errors.Is(err, problem.ErrUnavailable):
		return r, nil // the database is out: nothing can have changed it
	}
	c.cache.Remove(k)
	return store.Credential{}, err
}

// load reads the row of orgID and id, and caches it in slot k unless a
// change raced the read.
func (c *rowCache) load(ctx context.Context, k uint64, orgID, id string, load func(context.Context, string, string) (store.Credential, error)) (store.Credential, error) {
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
				c.cache.AddLocked(k, p, c.ttl)
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
// behind one pointer, nil when it has none, and its two times as Unix
// nanoseconds in one location. A row is 88 bytes here against 350 as a
// store.Credential, plus its text.
type packedRow struct {
	text              string
	ends              [textColumns]uint16
	settings          *rowSettings
	version           int64
	created, modified int64 // Unix nanoseconds; noTime for the zero time
	loc               *time.Location
}

// noTime is a packed zero time.
const noTime = math.MinInt64

// packTime is t in Unix nanoseconds; false when they cannot hold it
// (before 1678 or after 2262: such a row is not cached).
func packTime(t time.Time) (int64, bool) {
	if t.IsZero() {
		return noTime, true
	}
	n := t.UnixNano()
	return n, n != noTime && time.Unix(0, n).Equal(t)
}

func unpackTime(n int64, loc *time.Location) time.Time {
	if n == noTime {
		return time.Time{}
	}
	return time.Unix(0, n).In(loc)
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
	p := packedRow{version: r.Version, loc: r.CreatedAt.Location()}
	var okC, okM bool
	p.created, okC = packTime(r.CreatedAt)
	p.modified, okM = packTime(r.ModifiedAt)
	if !okC || !okM || (!r.ModifiedAt.IsZero() && r.ModifiedAt.Location() != p.loc) {
		return packedRow{}, false
	}
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

// id and org are the row's ids, textOf's first two columns.
func (p packedRow) id() string  { return p.text[:p.ends[0]] }
func (p packedRow) org() string { return p.text[p.ends[0]:p.ends[1]] }

// unpack is the row p was packed from (its strings share p's text, its
// pointers p's targets: callers copy before they change what a pointer
// points to, as they do with any row).
func (p packedRow) unpack() store.Credential {
	r := store.Credential{Version: p.version, CreatedAt: unpackTime(p.created, p.loc), ModifiedAt: unpackTime(p.modified, p.loc)}
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
			// (another row sharing the slot would only be read again)
			c.cache.RemoveLocked(c.slot(orgID, id))
			return
		}
		c.cache.RemoveIfLocked(func(_ uint64, p packedRow) bool { return p.org() == orgID })
	})
}

func (c *rowCache) flush() {
	c.cache.WithLock(func() {
		for _, o := range c.loads {
			o.gen++
		}
		c.cache.RemoveIfLocked(func(uint64, packedRow) bool { return true })
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

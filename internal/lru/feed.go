package lru

import (
	"sync/atomic"
	"time"
)

// UnfedMaxAge is how old a cached entry may be and still be served
// unchecked while the change feed that invalidates the caches is not
// connected: changes made by other processes then arrive by no other
// way, so an older entry is checked with the database first.
const UnfedMaxAge = time.Second

// Feed is the state of the change feed: connected or not. The zero value
// is connected. It is safe for concurrent use.
type Feed struct{ down atomic.Bool }

// SetConnected records whether the feed is connected.
func (f *Feed) SetConnected(ok bool) { f.down.Store(!ok) }

// MustCheck reports whether an entry of that age must be checked with its
// source before it is served: the feed is down and the entry is older
// than UnfedMaxAge. A nil Feed never asks for a check.
func (f *Feed) MustCheck(age time.Duration) bool {
	return f != nil && f.down.Load() && age > UnfedMaxAge
}

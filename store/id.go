package store

import "github.com/credvault/credvault/internal/ids"

// NewID returns a new unique, time-ordered identifier with prefix, such as
// "cred_0190b3..." (a UUIDv7 in hex).
func NewID(prefix string) string { return ids.New(prefix) }

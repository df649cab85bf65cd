package store

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/google/uuid"
)

// NewID returns a new unique, time-ordered identifier with prefix, such as
// "cred_0190b3..." (a UUIDv7 in hex).
func NewID(prefix string) string {
	id, err := uuid.NewV7()
	if err != nil {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return prefix + "_" + hex.EncodeToString(b[:])
	}
	return prefix + "_" + hex.EncodeToString(id[:])
}

// Package ids makes the identifiers rows carry, for the platform's store
// and the reference service's alike.
package ids

import (
	"crypto/rand"
	"encoding/hex"

	"github.com/google/uuid"
)

// New returns a new unique, time-ordered identifier with prefix, such as
// "cred_0190b3..." (a UUIDv7 in hex; 16 random bytes if the clock or the
// random source fails UUIDv7).
func New(prefix string) string {
	id, err := uuid.NewV7()
	if err != nil {
		var b [16]byte
		_, _ = rand.Read(b[:])
		return prefix + "_" + hex.EncodeToString(b[:])
	}
	return prefix + "_" + hex.EncodeToString(id[:])
}

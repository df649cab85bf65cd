// Package org manages organizations: their API keys (created once, stored
// only as SHA-256 hashes, revocable) and their custom credential service
// configuration (validated, encrypted with the keyring, replaced
// atomically, audited, and tested for reachability).
//
// It knows the store, the keyring and the vault package; it does not know
// HTTP routing or echo.
package org

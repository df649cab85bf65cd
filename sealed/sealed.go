// Package sealed is the vocabulary of data sealed at rest, shared by the
// services that seal and the commands that rotate keys: a Sealer encrypts
// and decrypts bound to associated data, and a Set is one place stored
// ciphertexts live (a table's column), for counting and re-encrypting
// them under a new key. It depends on nothing of credvault's.
package sealed

import (
	"context"
	"strconv"
)

// Sealer seals data at rest: authenticated encryption bound to associated
// data (what the ciphertext belongs to), so a ciphertext moved to another
// row does not decrypt. credvault's keyring (Tink AES-256-GCM) is one.
type Sealer interface {
	Encrypt(plaintext, associatedData []byte) ([]byte, error)
	Decrypt(ciphertext, associatedData []byte) ([]byte, error)
}

// Row is one stored ciphertext and the associated data it is bound to.
type Row struct {
	ID         string
	Ciphertext []byte
	AD         []byte
}

// Set is one place ciphertexts are stored (a table's column), for
// counting and re-encrypting them.
type Set struct {
	Name string
	// Scan returns up to limit rows with an id after after, in id order.
	Scan func(ctx context.Context, after string, limit int) ([]Row, error)
	// Replace writes next over the row's ciphertext if it still is prev;
	// it reports whether it did.
	Replace func(ctx context.Context, id string, prev, next []byte) (bool, error)
}

// Column names a table's column of ciphertexts.
type Column struct {
	Table, ID, Ciphertext string
	// IntID says the id column is an integer (compared as text).
	IntID bool
	// Extra columns are read with each row (for its associated data).
	Extra []string
}

// Value is one row of a Column: its id, ciphertext and extra columns.
type Value struct {
	ID         string
	Ciphertext []byte
	Extra      []string
}

// Database is where sealed columns live: it describes column c as a Set
// named name, ad giving each row's associated data. The platform's SQL
// store is one.
type Database interface {
	Sealed(name string, c Column, ad func(Value) []byte) Set
}

// AssociatedData joins parts into an unambiguous associated-data string:
// each part is length-prefixed, so ("ab","c") and ("a","bc") differ.
func AssociatedData(parts ...string) []byte {
	var b []byte
	for _, p := range parts {
		b = strconv.AppendInt(b, int64(len(p)), 10)
		b = append(b, ':')
		b = append(b, p...)
		b = append(b, ';')
	}
	return b
}

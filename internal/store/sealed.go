package store

import (
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/sqldb"
)

// Sealed is column c of the platform's database as a keyring.SealedSet
// (sqldb.Sealed).
func (s *Store) Sealed(name string, c sqldb.SealedColumn, ad func(sqldb.SealedValue) []byte) keyring.SealedSet {
	return sqldb.Sealed(s.db, name, c, ad)
}

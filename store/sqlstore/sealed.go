package sqlstore

import (
	"github.com/credvault/credvault/internal/sqldb"
	"github.com/credvault/credvault/sealed"
)

// Sealed is column c of the platform's database as a sealed.Set
// (read and rewritten a page at a time).
func (s *Store) Sealed(name string, c sealed.Column, ad func(sealed.Value) []byte) sealed.Set {
	return sqldb.Sealed(s.db, name, c, ad)
}

package sqlstore

import "context"

// SearchTrigrams exposes searchTrigrams to the external tests.
var SearchTrigrams = searchTrigrams

// Exec runs q on s (inside a transaction when s is one), for tests that
// need a statement no store method makes.
func (s *Store) Exec(ctx context.Context, q string) error {
	return wrap("exec", s.ctx(ctx).Exec(q).Error)
}

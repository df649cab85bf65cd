package credvault

import "github.com/credvault/credvault/store"

// TestStore is the platform's store, for the end-to-end tests' checks of
// what the database holds (not part of the API: store is internal).
func (p *Platform) TestStore() *store.Store { return p.st }

package credvault

import "github.com/credvault/credvault/store/sqlstore"

// TestStore is the platform's store, for the root package's own checks of
// what the database holds (not part of the API).
func (p *Platform) TestStore() *sqlstore.Store { return p.st }

// ReplicationWarning exposes replicationWarning to the tests.
var ReplicationWarning = replicationWarning

package org

import "github.com/credvault/credvault/store"

// What organizations and configurations need from storage: the roles are
// declared, with the rows they carry, in package store.
type (
	OrgStore    = store.OrgStore
	ConfigStore = store.ConfigStore
)

package sqlstore

import "gorm.io/gorm/schema"

// naming maps the domain model's plain types (package store, which knows
// no gorm) to their tables and columns.
type naming struct{ schema.NamingStrategy }

// tables are the domain types whose table is not gorm's default plural.
var tables = map[string]string{
	"APIKey":        "org_api_keys",
	"AuthToken":     "org_auth_tokens",
	"Folder":        "credential_folders",
	"VaultDeletion": "vault_deletions",
	"CreateAttempt": "vault_creates",
	"OTPCode":       "totp_codes",
}

// columns are the fields whose column gorm would not derive (an initialism
// it does not know).
var columns = map[string]string{
	"TOTPType":       "totp_type",
	"TOTPIdentifier": "totp_identifier",
	"OTPType":        "otp_type",
}

func (n naming) TableName(typ string) string {
	if t, ok := tables[typ]; ok {
		return t
	}
	return n.NamingStrategy.TableName(typ)
}

func (n naming) ColumnName(table, field string) string {
	if c, ok := columns[field]; ok {
		return c
	}
	return n.NamingStrategy.ColumnName(table, field)
}

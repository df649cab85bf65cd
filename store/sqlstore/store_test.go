package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/store/sqlstore"
	"github.com/credvault/credvault/store/storetest"
)

func TestMigrationsAreIdempotent(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, kind) // first application
			ctx := context.Background()
			n, err := s.Migrate(ctx, migrations.Credvault)
			if err != nil || n != 0 {
				t.Fatalf("second migrate: applied %d, err %v; want 0, nil", n, err)
			}
			cur, newest, err := migrations.Version(ctx, s.SQLDB(), s.Dialect(), migrations.Credvault)
			if err != nil || cur != newest || cur == 0 {
				t.Fatalf("version %d/%d err %v", cur, newest, err)
			}
		})
	}
}

func TestOneValidAuthTokenPerOrganization(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, kind)
			ctx := context.Background()
			now := s.Now()
			orgID, _ := newOrg(t, s)
			tok := func() store.AuthToken {
				return store.AuthToken{ID: store.NewID("cfg"), OrganizationID: orgID, TokenType: "custom_credential_service",
					EncryptedToken: []byte("x"), Valid: true, CreatedAt: now, ModifiedAt: now}
			}
			// A direct second valid insert must be refused by the database.
			first := tok()
			if err := s.Tx(ctx, func(tx *sqlstore.Store) error {
				return tx.ReplaceAuthToken(ctx, first, store.AuditEvent{OrganizationID: orgID, Action: "t"})
			}); err != nil {
				t.Fatal(err)
			}
			raw := tok()
			_, err := s.SQLDB().ExecContext(ctx, rebind(kind, "INSERT INTO org_auth_tokens (id, organization_id, token_type, encrypted_token, valid, created_at, modified_at) VALUES ($1,$2,$3,$4,$5,$6,$7)"),
				raw.ID, raw.OrganizationID, raw.TokenType, raw.EncryptedToken, true, now, now)
			if err == nil {
				t.Fatal("database accepted a second valid configuration for one organization")
			}
			second := tok()
			if err := s.ReplaceAuthToken(ctx, second, store.AuditEvent{OrganizationID: orgID, Action: "t"}); err != nil {
				t.Fatal(err)
			}
			got, err := s.ValidAuthToken(ctx, orgID, "custom_credential_service")
			if err != nil || got.ID != second.ID {
				t.Fatalf("valid token = %q, %v; want %q", got.ID, err, second.ID)
			}
			var total int
			if err := s.SQLDB().QueryRowContext(ctx, "SELECT COUNT(*) FROM org_auth_tokens").Scan(&total); err != nil || total != 2 {
				t.Fatalf("rows kept = %d, %v; want 2 (replaced rows are kept)", total, err)
			}
			if _, err := s.ValidAuthToken(ctx, "org_other", "custom_credential_service"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("other org: %v, want ErrNotFound", err)
			}
		})
	}
}

func rebind(kind testdb.Kind, q string) string {
	if kind == testdb.Postgres {
		return q
	}
	for i := 9; i >= 1; i-- {
		q = strings.ReplaceAll(q, fmt.Sprintf("$%d", i), "?")
	}
	return q
}

package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/sqldb"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/store/sqlstore"
	"github.com/credvault/credvault/store/storetest"
)

func newOrg(t *testing.T, s *sqlstore.Store) (orgID, keyID string) {
	t.Helper()
	now := s.Now()
	orgID, keyID = store.NewID("org"), store.NewID("key")
	if err := s.CreateOrganization(context.Background(), store.Organization{ID: orgID, Name: "a", CreatedAt: now, ModifiedAt: now},
		store.APIKey{ID: keyID, OrganizationID: orgID, KeyHash: []byte(keyID), CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	return orgID, keyID
}

func newCredential(t *testing.T, s *sqlstore.Store, orgID, name string) store.Credential {
	t.Helper()
	now := s.Now()
	c := store.Credential{ID: store.NewID("cred"), OrganizationID: orgID, Name: name, CredentialType: "secret", VaultType: "custom",
		ItemID: "item", VaultSource: "env", Version: 1, CreatedAt: now, ModifiedAt: now}
	if err := s.CreateCredential(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCredentialRowRules: optimistic concurrency, soft delete, other
// organizations, and a literal search (LIKE's % and _ are not wildcards),
// on both databases.
func TestCredentialRowRules(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			s := storetest.Open(t, kind)
			ctx := context.Background()
			orgID, _ := newOrg(t, s)
			otherOrg, _ := newOrg(t, s)
			c := newCredential(t, s, orgID, "100%_real")
			newCredential(t, s, orgID, "1000 real")

			c.Name = "renamed"
			if _, err := s.UpdateCredential(ctx, c, 7); !errors.Is(err, store.ErrConflict) || !errors.Is(err, problem.ErrConflict) {
				t.Fatalf("update at a stale version = %v, want ErrConflict", err)
			}
			updated, err := s.UpdateCredential(ctx, c, 1)
			if err != nil || updated.Version != 2 {
				t.Fatalf("update = %+v %v", updated, err)
			}
			if _, err := s.GetCredential(ctx, otherOrg, c.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("another organization reads the row: %v", err)
			}

			for search, want := range map[string]int{"%": 0, "_": 0, "0%_": 0, "1000": 1, "REAL": 1, "renamed": 1} {
				rows, err := s.ListCredentials(ctx, orgID, store.CredentialFilter{Search: search, Limit: 10})
				if err != nil || len(rows) != want {
					t.Fatalf("search %q = %d rows %v, want %d", search, len(rows), err, want)
				}
			}

			if err := s.SoftDeleteCredential(ctx, orgID, c.ID, 1); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("delete at a stale version = %v", err)
			}
			if err := s.SoftDeleteCredential(ctx, orgID, c.ID, 2); err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetCredential(ctx, orgID, c.ID); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("a deleted row reads: %v", err)
			}
			if _, err := s.UpdateCredential(ctx, updated, 3); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("updating a deleted row = %v, want ErrNotFound", err)
			}
			if rows, _ := s.ListCredentials(ctx, orgID, store.CredentialFilter{Limit: 10}); len(rows) != 1 {
				t.Fatalf("list after delete = %d rows", len(rows))
			}
		})
	}
}

func TestKeyRevocation(t *testing.T) {
	t.Parallel()
	s := storetest.Open(t, testdb.SQLite)
	ctx := context.Background()
	orgID, keyID := newOrg(t, s)
	other, _ := newOrg(t, s)
	if err := s.RevokeAPIKey(ctx, other, keyID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking through another organization = %v", err)
	}
	if err := s.RevokeAPIKey(ctx, orgID, keyID); err != nil {
		t.Fatal(err)
	}
	k, err := s.APIKeyByHash(ctx, []byte(keyID))
	if err != nil || k.RevokedAt == nil {
		t.Fatalf("after revocation: %+v %v", k, err)
	}
	first := *k.RevokedAt
	if err := s.RevokeAPIKey(ctx, orgID, keyID); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.APIKeyByHash(ctx, []byte(keyID)); !k.RevokedAt.Equal(first) {
		t.Fatal("revoking again moved the revocation time")
	}
}

func TestRedactDSN(t *testing.T) {
	t.Parallel()
	dsn := "postgres://u:s3cret-pw@127.0.0.1:1/db"
	err := sqldb.RedactDSN(errors.New("dial postgres://u:s3cret-pw@127.0.0.1:1/db failed"), dsn)
	if err.Error() != "dial postgres://u:[REDACTED]@127.0.0.1:1/db failed" {
		t.Fatalf("redacted = %q", err)
	}
	// A refused connection (loopback, nothing listens on port 1): the
	// error must not carry the password.
	if _, _, err := sqldb.Open(context.Background(), sqldb.Options{DatabaseURL: dsn}); err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("open with a password: %v", err)
	}
}

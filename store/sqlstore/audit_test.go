package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/store/sqlstore"
	"github.com/credvault/credvault/store/storetest"
)

// The audit trail is filtered in SQL and pruned by age in batches.
func TestAuditFiltersAndPruning(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		storetest.Organizations(t, s, "org_a", "org_b")
		now := s.Now()
		add := func(id, org, key, action string, age time.Duration) {
			if err := s.InsertAuditEvent(ctx, store.AuditEvent{ID: id, OrganizationID: org, ActorKeyID: key, ActorRole: "agent",
				RequestID: "req-" + id, Action: action, TargetID: "cred_1", CreatedAt: now.Add(-age)}); err != nil {
				t.Fatal(err)
			}
		}
		add("e1", "org_a", "k1", "credential.totp_code", 500*24*time.Hour)
		add("e2", "org_a", "k1", "credential.totp_code", 401*24*time.Hour)
		add("e3", "org_a", "k2", "credential.read_secret", time.Hour)
		add("e4", "org_a", "k1", "credential.totp_code", time.Minute)
		add("e5", "org_b", "k1", "credential.totp_code", 450*24*time.Hour)
		es, err := s.FindAuditEvents(ctx, "org_a", store.AuditFilter{Action: "credential.totp_code", ActorKeyID: "k1"})
		if err != nil || len(es) != 3 || es[0].ID != "e4" || es[0].RequestID != "req-e4" || es[0].ActorRole != "agent" {
			t.Fatalf("filtered: %+v %v", es, err)
		}
		if es, _ := s.FindAuditEvents(ctx, "org_a", store.AuditFilter{Since: now.Add(-2 * time.Hour), Limit: 1}); len(es) != 1 || es[0].ID != "e4" {
			t.Fatalf("since, limit: %+v", es)
		}
		before := now.Add(-400 * 24 * time.Hour)
		if n, err := s.PruneAuditEvents(ctx, before, 2); err != nil || n != 2 {
			t.Fatalf("first batch: %d %v", n, err)
		}
		if n, err := s.PruneAuditEvents(ctx, before, 2); err != nil || n != 1 {
			t.Fatalf("second batch: %d %v", n, err)
		}
		if n, _ := s.PruneAuditEvents(ctx, before, 2); n != 0 {
			t.Fatalf("third batch: %d", n)
		}
		if es, _ := s.ListAuditEvents(ctx, "org_a"); len(es) != 2 {
			t.Fatalf("left: %+v", es)
		}
	})
}

// A batch of audit events is written whole, every field as given, and an
// event written before (its id: a flush retried after a lost answer) is
// not written twice; inside a transaction too.
func TestAuditBatches(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		storetest.Organizations(t, s, "org_a")
		now := s.Now().Truncate(time.Microsecond)
		ev := func(id string, age time.Duration) store.AuditEvent {
			return store.AuditEvent{ID: id, OrganizationID: "org_a", ActorKeyID: "key_" + id, ActorRole: "agent",
				RequestID: "req-" + id, Action: "credential.totp_code", TargetID: "cred_" + id, CreatedAt: now.Add(-age)}
		}
		first := []store.AuditEvent{ev("b1", 3*time.Second), ev("b2", 2*time.Second)}
		if err := s.InsertAuditEvents(ctx, first); err != nil {
			t.Fatal(err)
		}
		if err := s.Tx(ctx, func(tx *sqlstore.Store) error {
			return tx.InsertAuditEvents(ctx, []store.AuditEvent{ev("b2", 2*time.Second), ev("b3", time.Second)})
		}); err != nil {
			t.Fatalf("a batch holding an event already written: %v", err)
		}
		es, err := s.ListAuditEvents(ctx, "org_a")
		if err != nil || len(es) != 3 {
			t.Fatalf("events: %+v %v", es, err)
		}
		ages := map[string]time.Duration{"b1": 3 * time.Second, "b2": 2 * time.Second, "b3": time.Second}
		for _, e := range es {
			want := ev(e.ID, ages[e.ID])
			same := e.CreatedAt.Equal(want.CreatedAt)
			want.CreatedAt = e.CreatedAt // the instant compared, not its location
			if e != want || !same {
				t.Fatalf("read back %+v, wrote %+v", e, want)
			}
		}
	})
}

// ReserveCreate records an update's create only while the row is at the
// version it read and no other create of it is in flight.
func TestReserveCreateRefusesRaces(t *testing.T) {
	t.Parallel()
	each(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		storetest.Organizations(t, s, "org_a")
		now := s.Now()
		if err := s.CreateCredential(ctx, store.Credential{ID: "cred_1", OrganizationID: "org_a", Name: "n", CredentialType: "secret",
			VaultType: "custom", ItemID: "item_1", VaultSource: "env", Version: 1, CreatedAt: now, ModifiedAt: now}); err != nil {
			t.Fatal(err)
		}
		lease := now.Add(time.Minute)
		a := store.CreateAttempt{ID: "cred_1/v2", OrganizationID: "org_a", CredentialID: "cred_1", VaultSource: "env", Operation: "update",
			Owner: "p1", LeaseUntil: &lease}
		if err := s.ReserveCreate(ctx, a, 2); err != store.ErrCreateBusy {
			t.Fatalf("a stale version: %v", err)
		}
		if err := s.ReserveCreate(ctx, a, 1); err != nil {
			t.Fatalf("reserve: %v", err)
		}
		b := a
		b.Owner = "p2"
		if err := s.ReserveCreate(ctx, b, 1); err != store.ErrCreateBusy {
			t.Fatalf("a second reservation while the first is in flight: %v", err)
		}
		c := a
		c.ID, c.CredentialID = "cred_nope/v2", "cred_nope"
		if err := s.ReserveCreate(ctx, c, 1); err == nil {
			t.Fatal("a reservation for a missing credential")
		}
		if n, sync, err := s.Replication(ctx); err != nil || n != 0 || sync != "" {
			t.Fatalf("replication on a lone server: %d %q %v", n, sync, err)
		}
		// Resealing a configuration that does not exist writes nothing.
		tok := store.AuthToken{ID: "cfg_1", OrganizationID: "org_a", TokenType: "custom_credential_service", EncryptedToken: []byte("ct"),
			Valid: true, CreatedAt: now, ModifiedAt: now}
		err := s.SaveAuthToken(ctx, tok, []store.AuthToken{{ID: "cfg_nope", OrganizationID: "org_a", TokenType: tok.TokenType,
			EncryptedToken: []byte("x"), ModifiedAt: now}}, store.AuditEvent{OrganizationID: "org_a", Action: "x"})
		if !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("reseal of an unknown configuration: %v", err)
		}
		if _, err := s.ValidAuthToken(ctx, "org_a", tok.TokenType); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the failed save left a row: %v", err)
		}
	})
}

// A PostgreSQL pool whose search_path names no existing schema is refused
// at Open, saying which schema to create.
func TestAMissingSchemaIsNamed(t *testing.T) {
	t.Parallel()
	u := testdb.BaseURL()
	sep := "?"
	if strings.Contains(u, "?") {
		sep = "&"
	}
	_, err := sqlstore.Open(context.Background(), sqlstore.Options{DatabaseURL: u + sep + "search_path=no_such_schema_xyz"})
	if err == nil || !strings.Contains(err.Error(), `CREATE SCHEMA "no_such_schema_xyz"`) {
		t.Fatalf("open: %v", err)
	}
}

package sqlstore_test

import (
	"context"
	"testing"
	"time"

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

package credentials_test

import (
	"errors"
	"testing"
	"time"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
)

// TestReconcileReportsStaleAndLostCreates: rows of an earlier
// configuration are stale; creates whose answer was lost are listed once
// old enough; the progress callback sees every row.
func TestReconcileReportsStaleAndLostCreates(t *testing.T) {
	t.Parallel()
	svc, st, v := setup(t)
	ctx := t.Context()
	if _, err := svc.Create(ctx, "org_a", secret("old", "v"), credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	v.mu.Lock()
	v.current = "cfg_2"
	v.mu.Unlock()
	v.afterStore = func(string) error { return &vault.TimeoutError{Op: "create", After: time.Second} }
	if _, err := svc.Create(ctx, "org_a", secret("lost", "v"), credentials.Patch{}); !errors.Is(err, vault.ErrTimeout) {
		t.Fatal(err)
	}
	v.afterStore = nil
	exec(t, st, "UPDATE vault_creates SET created_at = '2000-01-01 00:00:00+00:00'")
	seen := 0
	rep, err := svc.Maintenance().Reconcile(ctx, credentials.ReconcileOptions{Concurrency: 2, Rate: 1000, Progress: func(done, total int) { seen = done }})
	if err != nil || rep.Checked != 1 || seen != 1 || len(rep.Stale) != 1 || rep.Stale[0].Current != "cfg_2" || len(rep.LostCreates) != 1 || rep.Clean() {
		t.Fatalf("reconcile: %+v %v (progress %d)", rep, err, seen)
	}
	if dry, err := svc.Maintenance().Migrate(ctx, "org_a", credentials.MigrateOptions{DryRun: true}); err != nil || dry.ToMove != 1 || dry.BySource["cfg_1"] != 1 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if _, err := svc.Maintenance().Migrate(ctx, "org_a", credentials.MigrateOptions{}); invalidField(err) != "sources" {
		t.Fatalf("a migration naming no source: %v", err)
	}
	rep2, err := svc.Maintenance().Migrate(ctx, "org_a", credentials.MigrateOptions{From: map[string]bool{"cfg_9": true}})
	if err != nil || rep2.Migrated != 0 || rep2.Skipped["cfg_1"] != 1 {
		t.Fatalf("a migration from an unrelated source: %+v %v", rep2, err)
	}
	rep3, err := svc.Maintenance().Migrate(ctx, "org_a", credentials.MigrateOptions{From: map[string]bool{"cfg_1": true}})
	if err != nil || rep3.Migrated != 1 || rep3.Remaining != 0 {
		t.Fatalf("a proven migration: %+v %v", rep3, err)
	}
}

// TestCreatesOfAStoppedProcessAreRecovered: a process recorded a create,
// the service stored its item, and the process died before writing the
// row. Once the lease ends, another process's worker takes the record
// over, finds the item through the Idempotency-Key and deletes it — no
// orphan, no operator. A create still within its lease is left alone,
// and reconcile shows it in flight with its age.
func TestCreatesOfAStoppedProcessAreRecovered(t *testing.T) {
	t.Parallel()
	svc, st, v := setup(t)
	ctx := t.Context()
	// The dead process's create: recorded, and stored by the service.
	lease := st.Now().Add(time.Minute)
	dead := store.CreateAttempt{ID: "cred_dead", OrganizationID: "org_a", CredentialID: "cred_dead", VaultSource: "cfg_1",
		Operation: "create", Owner: "proc_dead", LeaseUntil: &lease}
	if err := st.RecordCreate(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if _, err := v.CreateAt(vault.WithIdempotencyKey(ctx, dead.ID), "org_a", "cfg_1", secret("orphan", "v")); err != nil {
		t.Fatal(err)
	}
	if n := svc.Maintenance().RecoverCreates(ctx); n != 0 || v.count() != 1 {
		t.Fatalf("a create within its lease was taken (%d), items %d", n, v.count())
	}
	rep, err := svc.Maintenance().Reconcile(ctx, credentials.ReconcileOptions{})
	if err != nil || len(rep.InFlight) != 1 || rep.InFlight[0].IdempotencyKey != dead.ID {
		t.Fatalf("reconcile during the lease: %+v %v", rep.InFlight, err)
	}
	exec(t, st, "UPDATE vault_creates SET lease_until = '2000-01-01 00:00:00+00:00'")
	if n := svc.Maintenance().RecoverCreates(ctx); n != 1 {
		t.Fatalf("recovered %d creates, want 1", n)
	}
	if v.count() != 0 {
		t.Fatalf("the orphan survives: %d items", v.count())
	}
	if cs, _ := st.ListCreates(ctx, "", time.Now().Add(time.Hour), 10); len(cs) != 0 {
		t.Fatalf("the recovered create stays recorded: %+v", cs)
	}
	// An item a row points to is kept: the create finished after all.
	view, err := svc.Create(ctx, "org_a", secret("kept", "v"), credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordCreate(ctx, store.CreateAttempt{ID: view.CredentialID, OrganizationID: "org_a", CredentialID: view.CredentialID,
		VaultSource: "cfg_1", Operation: "create", Owner: "proc_dead"}); err != nil {
		t.Fatal(err)
	}
	if n := svc.Maintenance().RecoverCreates(ctx); n != 1 || v.count() != 1 {
		t.Fatalf("recovery of a create whose row exists: %d taken, %d items", n, v.count())
	}
	if got, err := svc.GetWithSecret(ctx, "org_a", view.CredentialID); err != nil || got.Credential.Secret.Value.Reveal() != "v" {
		t.Fatalf("the credential lost its secret: %v", err)
	}
}

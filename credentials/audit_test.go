package credentials_test

import (
	"context"
	"errors"
	"testing"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/store"
)

// noAudit is a Storage whose audit trail cannot be written: err says why.
type noAudit struct {
	credentials.Storage
	err error
}

func (n *noAudit) InsertAuditEvent(ctx context.Context, e store.AuditEvent) error {
	if n.err != nil {
		return n.err
	}
	return n.Storage.InsertAuditEvent(ctx, e)
}

func (n *noAudit) InsertAuditEvents(ctx context.Context, es []store.AuditEvent) error {
	if n.err != nil {
		return n.err
	}
	return n.Storage.InsertAuditEvents(ctx, es)
}

// Every read that reveals a secret or derives from one is audited with
// the acting key, its role and the request id; a read whose trace cannot
// be written returns no secret.
func TestEverySecretReadLeavesATrace(t *testing.T) {
	t.Parallel()
	svc, st, v := setup(t)
	ctx := store.WithActor(t.Context(), store.Actor{KeyID: "key_agent", Role: "agent", RequestID: "req-7"})
	c := password("Bank", "JBSWY3DPEHPK3PXP")
	view, err := svc.Create(t.Context(), "org_a", c, credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetWithSecret(ctx, "org_a", view.CredentialID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.TOTPCode(ctx, "org_a", view.CredentialID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Get(ctx, "org_a", view.CredentialID); err != nil { // metadata only: not a secret read
		t.Fatal(err)
	}
	if svc.Spooled() != 2 {
		t.Fatalf("%d events waiting, want 2", svc.Spooled())
	}
	svc.FlushAudit(ctx)
	es, err := st.FindAuditEvents(t.Context(), "org_a", store.AuditFilter{ActorKeyID: "key_agent"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]store.AuditEvent{}
	for _, e := range es {
		got[e.Action] = e
	}
	for _, action := range []string{credentials.ActionReadSecret, credentials.ActionTOTPCode} {
		e, ok := got[action]
		if !ok || e.TargetID != view.CredentialID || e.ActorRole != "agent" || e.RequestID != "req-7" {
			t.Errorf("%s: %+v (all: %+v)", action, e, es)
		}
	}
	if len(es) != 2 {
		t.Errorf("%d events for the agent, want 2: %+v", len(es), es)
	}

	// While the database is out the events wait; the writer writes them
	// once it is back. A full spool takes the event synchronously, and a
	// read whose event can be neither spooled nor written fails.
	out := &noAudit{credentials.Store(st), store.ErrUnavailable}
	spooling := credentials.New(out, v, nil)
	if _, err := spooling.TOTPCode(ctx, "org_a", view.CredentialID); err != nil {
		t.Fatalf("a code while the database is out: %v", err)
	}
	spooling.FlushAudit(ctx)
	if spooling.Spooled() != 1 {
		t.Fatalf("%d events waiting, want 1", spooling.Spooled())
	}
	for spooling.Spooled() < 10_000 {
		if _, err := spooling.TOTPCode(ctx, "org_a", view.CredentialID); err != nil {
			t.Fatalf("read %d: %v", spooling.Spooled(), err)
		}
	}
	if code, err := spooling.TOTPCode(ctx, "org_a", view.CredentialID); !errors.Is(err, store.ErrUnavailable) || code.Code != "" {
		t.Fatalf("a code with a full spool and no database: %q %v", code.Code, err)
	}
	if w, err := spooling.GetWithSecret(ctx, "org_a", view.CredentialID); !errors.Is(err, store.ErrUnavailable) || w.Credential.Password != nil {
		t.Fatalf("a secret with a full spool and no database: %v", err)
	}
	out.err = nil
	spooling.FlushAudit(ctx)
	if spooling.Spooled() != 0 {
		t.Fatalf("%d events still waiting", spooling.Spooled())
	}
	// Counted in SQL: reading 10,001 rows back may outlast the statement
	// timeout on a loaded machine, and a partial read is not a lost event.
	var n int
	if err := st.SQLDB().QueryRowContext(ctx, "SELECT count(*) FROM audit_events WHERE organization_id = 'org_a' AND action = ?",
		credentials.ActionTOTPCode).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1+10_000 {
		t.Fatalf("%d totp-code events after the flush, want 10,001", n)
	}
}

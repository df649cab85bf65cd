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

func (n noAudit) InsertAuditEvent(ctx context.Context, e store.AuditEvent) error {
	if n.err != nil {
		return n.err
	}
	return n.Storage.InsertAuditEvent(ctx, e)
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

	broken := errors.New("disk full")
	blind := credentials.New(noAudit{credentials.Store(st), broken}, v, nil)
	if w, err := blind.GetWithSecret(ctx, "org_a", view.CredentialID); !errors.Is(err, broken) || w.Credential.Password != nil {
		t.Fatalf("a secret read without its trace: %v %v", w.Credential.Password != nil, err)
	}
	if code, err := blind.TOTPCode(ctx, "org_a", view.CredentialID); !errors.Is(err, broken) || code.Code != "" {
		t.Fatalf("a code without its trace: %q %v", code.Code, err)
	}

	// While the database is out the read is served, its event spooled,
	// and written by the worker once the database is back.
	out := &noAudit{credentials.Store(st), store.ErrUnavailable}
	spooling := credentials.New(out, v, nil)
	if _, err := spooling.TOTPCode(ctx, "org_a", view.CredentialID); err != nil {
		t.Fatalf("a code while the database is out: %v", err)
	}
	if spooling.Spooled() != 1 {
		t.Fatalf("%d events spooled, want 1", spooling.Spooled())
	}
	out.err = nil
	spooling.Outbox().Tick(ctx)
	if spooling.Spooled() != 0 {
		t.Fatalf("%d events still spooled", spooling.Spooled())
	}
	es, _ = st.FindAuditEvents(t.Context(), "org_a", store.AuditFilter{Action: credentials.ActionTOTPCode})
	if len(es) != 2 {
		t.Fatalf("%d totp-code events after the flush, want 2", len(es))
	}
}

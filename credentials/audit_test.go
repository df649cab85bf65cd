package credentials_test

import (
	"context"
	"errors"
	"testing"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/store"
)

// noAudit is a Storage whose audit trail cannot be written.
type noAudit struct{ credentials.Storage }

func (noAudit) InsertAuditEvent(context.Context, store.AuditEvent) error { return store.ErrUnavailable }

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

	blind := credentials.New(noAudit{credentials.Store(st)}, v, nil)
	if w, err := blind.GetWithSecret(ctx, "org_a", view.CredentialID); !errors.Is(err, store.ErrUnavailable) || w.Credential.Password != nil {
		t.Fatalf("a secret read without its trace: %v %v", w.Credential.Password != nil, err)
	}
	if code, err := blind.TOTPCode(ctx, "org_a", view.CredentialID); !errors.Is(err, store.ErrUnavailable) || code.Code != "" {
		t.Fatalf("a code without its trace: %q %v", code.Code, err)
	}
}

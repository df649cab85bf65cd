package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/credvault/credvault/store"
)

func TestEventsNameTheirActor(t *testing.T) {
	if a := store.ActorOf(context.Background()); a != (store.Actor{}) {
		t.Fatalf("no actor: %+v", a)
	}
	ctx := store.WithActor(context.Background(), store.Actor{KeyID: "key_1", Role: "agent", RequestID: "req-1"})
	e := store.Event(ctx, "org_1", "credential.totp_code", "cred_1")
	if e != (store.AuditEvent{OrganizationID: "org_1", ActorKeyID: "key_1", ActorRole: "agent", RequestID: "req-1",
		Action: "credential.totp_code", TargetID: "cred_1"}) {
		t.Fatalf("event: %+v", e)
	}
	a, b := store.NewID("evt"), store.NewID("evt")
	if !strings.HasPrefix(a, "evt_") || len(a) != 36 || a == b || a > b {
		t.Fatalf("ids %q %q: want distinct, prefixed, time-ordered", a, b)
	}
}

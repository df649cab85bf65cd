package store

import "context"

// Actor is who acts, for the audit trail: the API key (or "cli" for the
// command line), its role, and the request id it came with.
type Actor struct {
	KeyID     string
	Role      string
	RequestID string
}

type actorKey struct{}

// WithActor marks ctx with the actor every audit event made under it
// names.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorOf is ctx's actor (zero when none).
func ActorOf(ctx context.Context) Actor {
	a, _ := ctx.Value(actorKey{}).(Actor)
	return a
}

// Event is an audit event of ctx's actor: action on target in orgID.
func Event(ctx context.Context, orgID, action, target string) AuditEvent {
	a := ActorOf(ctx)
	return AuditEvent{OrganizationID: orgID, ActorKeyID: a.KeyID, ActorRole: a.Role, RequestID: a.RequestID, Action: action, TargetID: target}
}

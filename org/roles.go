package org

import (
	"context"
	"fmt"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
)

// Role is what an API key may do. Each role may do everything the roles
// below it may:
//
//   - RoleAgent reads what an automation run needs: credentials (list,
//     get), TOTP codes, pushed one-time codes, folders. It writes nothing.
//   - RoleMember also creates, changes and deletes credentials and
//     folders, and pushes one-time codes.
//   - RoleAdmin also changes the credential service configuration,
//     migrates credentials between services, manages API keys and reads
//     the audit trail.
//
// Keys made before roles existed are admin keys.
type Role uint8

// The roles, lowest first.
const (
	RoleAgent Role = iota + 1
	RoleMember
	RoleAdmin
)

// Roles lists every role, lowest first.
var Roles = []Role{RoleAgent, RoleMember, RoleAdmin}

func (r Role) String() string {
	switch r {
	case RoleAgent:
		return "agent"
	case RoleMember:
		return "member"
	case RoleAdmin:
		return "admin"
	}
	return "none"
}

// Allows reports whether a key of role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r >= need && need >= RoleAgent }

// MarshalText writes the role's name.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a role's name.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ParseRole reads "admin", "member" or "agent"; anything else is a
// *problem.InvalidError naming the field "role".
func ParseRole(s string) (Role, error) {
	for _, r := range Roles {
		if s == r.String() {
			return r, nil
		}
	}
	return 0, problem.Invalid("role", "must be admin, member or agent, got %s", quoteShort(s))
}

// quoteShort quotes a client's value for an error, cut to 32 characters.
func quoteShort(s string) string {
	if len(s) > 32 {
		s = s[:32] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// ActionDenied is the audit action of a request refused by its key's
// role; its target is the route ("POST /credentials").
const ActionDenied = "authorization.denied"

// RecordDenial audits a request refused by p's role. It is best effort:
// the refusal stands whether or not the event is written.
func (o *Organizations) RecordDenial(ctx context.Context, p Principal, route string) {
	_ = o.store.InsertAuditEvent(ctx, auditOf(ctx, p, ActionDenied, route))
}

// auditOf is an audit event of p (with the role and request id of ctx's
// actor when it is p).
func auditOf(ctx context.Context, p Principal, action, target string) store.AuditEvent {
	e := store.Event(ctx, p.OrganizationID, action, target)
	if e.ActorKeyID != p.KeyID {
		e.ActorKeyID, e.ActorRole, e.RequestID = p.KeyID, p.Role.String(), ""
		if p.Role == 0 {
			e.ActorRole = ""
		}
	}
	return e
}

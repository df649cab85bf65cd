package conformance

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/wire"
)

// The connection-test engine: the one reachability rule and the one
// create → read back → compare → delete round trip, shared by
// check-service (Run) and the organizations' test_connection (org).

// Reachability is what a GET of the base URL with the token says.
type Reachability struct {
	// Reachable: the service answered 2xx, 404 or 405 (the contract does
	// not define GET {base}; an answer other than a refusal is enough).
	Reachable bool
	// Rejected: it answered 401 or 403, refusing the token.
	Rejected bool
	// Status is the HTTP status (0 when there was no answer).
	Status int
	// Err is the transport failure, if any.
	Err error
}

// Probe applies the reachability rule.
func Probe(ctx context.Context, client *contract.Client) Reachability {
	status, err := client.Probe(ctx)
	r := Reachability{Status: status, Err: err}
	switch {
	case err != nil:
	case status/100 == 2 || status == 404 || status == 405:
		r.Reachable = true
	case status == 401 || status == 403:
		r.Rejected = true
	}
	return r
}

// Step is one step of a round trip; Err is nil when it passed.
type Step struct {
	Name string // "create", "read back" or "delete"
	Err  error
	// Fields names the fields a failed read back found missing or
	// different.
	Fields []string
}

// RoundTrip creates cred, reads it back and compares every field (by
// name only: a difference never shows a value), then deletes it — also
// when reading it back failed. It returns the steps run and the item's id
// ("" if the create failed, and then the only step).
func RoundTrip(ctx context.Context, client *contract.Client, cred vault.Credential) (string, []Step) {
	id, err := client.CreateItem(ctx, cred)
	if err != nil {
		return "", []Step{{Name: "create", Err: err}}
	}
	steps := []Step{{Name: "create"}}
	got, err := client.GetItem(ctx, id)
	var diff []string
	var ce *vault.ContractError
	switch {
	case err == nil:
		if diff = wire.DiffFields(cred, got); len(diff) > 0 {
			err = fmt.Errorf("the credential read back differs in %s", strings.Join(diff, ", "))
		}
	case errors.As(err, &ce):
		diff = ce.Missing
	}
	steps = append(steps, Step{Name: "read back", Err: err, Fields: diff})
	return id, append(steps, Step{Name: "delete", Err: client.DeleteItem(ctx, id)})
}

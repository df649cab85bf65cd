package vault_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/vault"
)

// TestSecretsNeverPrint: a Secret and Metadata print redacted in every
// form: fmt verbs, JSON, text, slog.
func TestSecretsNeverPrint(t *testing.T) {
	t.Parallel()
	s := vault.NewSecret("hunter2-secret")
	m := vault.Metadata{"recovery": "meta-secret"}
	var logs strings.Builder
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	log.Info("x", slog.Any("s", s), slog.Any("m", m))
	j, _ := json.Marshal(map[string]any{"s": s, "m": m})
	txt, _ := s.MarshalText()
	all := fmt.Sprintf("%v %+v %#v %s %q %x", s, s, s, s, s, s) + fmt.Sprintf("%v %#v %s", m, m, m) + s.String() + s.GoString() +
		m.String() + m.GoString() + string(j) + string(txt) + logs.String()
	for _, secret := range []string{"hunter2", "meta-secret"} {
		if strings.Contains(all, secret) {
			t.Fatalf("a secret printed: %s", all)
		}
	}
	if s.IsZero() || !vault.NewSecret("").IsZero() || s.Reveal() != "hunter2-secret" {
		t.Fatal("Secret's accessors")
	}
}

// TestErrorKinds: every error type says what happened without a secret,
// and is of its kind.
func TestErrorKinds(t *testing.T) {
	t.Parallel()
	cause := errors.New("cause")
	for _, tc := range []struct {
		err  error
		kind error
		text string
	}{
		{&vault.SourceUnavailableError{Source: "cfg_1", Reason: "it no longer exists"}, vault.ErrSourceUnavailable, "cfg_1"},
		{&vault.ContractError{Op: "get", Problem: "no id"}, vault.ErrContractViolation, "violated the contract on get: no id"},
		{&vault.UpstreamError{Op: "create", StatusCode: 500, Message: "the service failed"}, vault.ErrUpstream, "HTTP 500 on create: the service failed"},
		{&vault.UpstreamError{Op: "get", StatusCode: 404}, vault.ErrUpstream, "returned HTTP 404 on get"},
		{&vault.UpstreamError{Op: "get", Message: "connection refused", Err: cause}, vault.ErrUpstream, "could not be reached on get"},
		{&vault.TimeoutError{Op: "get", After: time.Second}, vault.ErrTimeout, "within 1s"},
	} {
		if !errors.Is(tc.err, tc.kind) || !strings.Contains(tc.err.Error(), tc.text) {
			t.Errorf("%T: %q (kind %v)", tc.err, tc.err.Error(), errors.Is(tc.err, tc.kind))
		}
	}
	if !errors.Is(&vault.UpstreamError{Err: cause}, cause) {
		t.Error("UpstreamError does not unwrap its cause")
	}
	for err, unknown := range map[error]bool{
		nil:                                   false,
		&vault.TimeoutError{}:                 true,
		&vault.ContractError{}:                true,
		context.Canceled:                      true,
		&vault.UpstreamError{}:                true,  // a reset: it may have arrived
		&vault.UpstreamError{Unsent: true}:    false, // refused before sending
		&vault.UpstreamError{StatusCode: 400}: false,
		errors.New("other"):                   false,
	} {
		if got := vault.OutcomeUnknown(err); got != unknown {
			t.Errorf("OutcomeUnknown(%v) = %v", err, got)
		}
	}
	if !(&vault.UpstreamError{Unsent: true}).Undelivered() || (&vault.UpstreamError{StatusCode: 500, Unsent: true}).Undelivered() {
		t.Error("Undelivered")
	}
}

// TestSchemaAccessors: fields reached by their schema entry, on every
// type; address sub-fields copied by name; the secret values listed.
func TestSchemaAccessors(t *testing.T) {
	t.Parallel()
	c := vault.Credential{Type: vault.TypeCreditCard}
	c.Prepare()
	for _, f := range vault.Fields(vault.TypeCreditCard) {
		switch f.Kind {
		case vault.KindMetadata:
			c.SetMetadata(f, vault.Metadata{"k": "meta-v"})
		case vault.KindAddress:
			a := &vault.BillingAddress{}
			for _, af := range vault.AddressFields() {
				a.Set(af, "addr-"+af.Name)
			}
			c.SetAddress(f, a)
		default:
			c.SetText(f, "v-"+f.Name)
		}
	}
	if c.CreditCard.CardNumber.Reveal() != "v-card_number" || c.CreditCard.Brand != "v-card_brand" ||
		c.CreditCard.BillingAddress.City.Reveal() != "addr-city" || c.CreditCard.Metadata["k"] != "meta-v" {
		t.Fatalf("set through the schema: %+v", c.CreditCard)
	}
	vals := strings.Join(c.SecretValues(), ",")
	for _, want := range []string{"v-card_number", "v-card_cvv", "meta-v", "addr-city", "v-billing_email"} {
		if !strings.Contains(vals, want) {
			t.Errorf("SecretValues misses %s", want)
		}
	}
	if strings.Contains(vals, "v-card_brand") {
		t.Error("the brand is not a secret")
	}
	dst := &vault.BillingAddress{}
	dst.CopyFields(c.CreditCard.BillingAddress, []string{"city", "postal_code"})
	if dst.City.Reveal() != "addr-city" || dst.PostalCode.Reveal() != "addr-postal_code" || !dst.Line1.IsZero() {
		t.Fatalf("CopyFields: %+v", dst)
	}
	var none *vault.BillingAddress
	if none.Get(vault.AddressFields()[0]) != "" {
		t.Error("a nil address reads as empty")
	}
	empty := vault.Credential{Type: vault.TypeSecret}
	if empty.Has() || empty.Text(vault.Fields(vault.TypeSecret)[0]) != "" {
		t.Error("a credential without its struct")
	}
	if err := vault.CheckTextMax("name", strings.Repeat("n", 11), 10); err == nil {
		t.Error("CheckTextMax accepted 11 bytes for 10")
	}
	var inv *problem.InvalidError
	if err := vault.CheckTextMax("name", "a\x00", 10); !errors.As(err, &inv) || inv.Field != "name" {
		t.Errorf("CheckTextMax with NUL: %v", err)
	}
}

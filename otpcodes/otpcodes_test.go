package otpcodes_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/otpcodes"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store/sqlstore"
	"github.com/credvault/credvault/store/storetest"
)

func setup(t *testing.T) (*otpcodes.Service, *sqlstore.Store) {
	t.Helper()
	st := storetest.Open(t, testdb.SQLite)
	storetest.Organizations(t, st, "org_a", "org_b")
	b, _ := keyring.Generate()
	kr, err := keyring.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return otpcodes.New(st, kr), st
}

func ptr(s string) *string { return &s }

// TestPushExtractsTheCode: a short content is the code; in a message the
// first standalone 4–8 digits are; a message without one yields its link;
// a message named a magic link keeps its link even when the link holds
// digits, and lists under the magic-link filter.
func TestPushExtractsTheCode(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	ctx := context.Background()
	link := "https://login.example.com/magic?token=12345678&u=9"
	for _, tc := range []struct {
		content, typ, code, otpType string
	}{
		{"483920", "", "483920", otpcodes.TypeTOTP},
		{"Your code is 483920. It expires soon.", "", "483920", otpcodes.TypeTOTP},
		{"Sign in: https://login.example.com/magic?t=abc", "", "https://login.example.com/magic?t=abc", otpcodes.TypeMagicLink},
		{"Sign in: " + link, otpcodes.TypeMagicLink, link, otpcodes.TypeMagicLink},
		{"no link at all, just words", otpcodes.TypeMagicLink, "no link at all, just words", otpcodes.TypeMagicLink},
		{"Your code is 1234", otpcodes.TypeTOTP, "1234", otpcodes.TypeTOTP},
		{"no digits in this message", otpcodes.TypeTOTP, "", otpcodes.TypeTOTP},
	} {
		p := otpcodes.Push{TOTPIdentifier: "Alice@Example.com", Content: tc.content}
		if tc.typ != "" {
			p.Type = ptr(tc.typ)
		}
		c, err := svc.Push(ctx, "org_a", p)
		if err != nil {
			t.Fatalf("%q: %v", tc.content, err)
		}
		if c.Code != tc.code || c.OTPType == nil || *c.OTPType != tc.otpType || c.TOTPIdentifier != "alice@example.com" {
			t.Errorf("%q (type %q) = code %q type %v, want %q %q", tc.content, tc.typ, c.Code, c.OTPType, tc.code, tc.otpType)
		}
	}
	links, err := svc.List(ctx, "org_a", otpcodes.ListOptions{OTPType: otpcodes.TypeMagicLink, TOTPIdentifier: "ALICE@example.com"})
	if err != nil || len(links) != 3 {
		t.Fatalf("magic links: %d %v", len(links), err)
	}
	found := false
	for _, l := range links {
		found = found || l.Code == link
	}
	if !found {
		t.Fatal("the link named a magic link is not under the magic-link filter")
	}
	if others, _ := svc.List(ctx, "org_b", otpcodes.ListOptions{}); len(others) != 0 {
		t.Fatalf("another organization sees %d codes", len(others))
	}
}

func TestPushAndListValidation(t *testing.T) {
	t.Parallel()
	svc, _ := setup(t)
	ctx := context.Background()
	past := time.Now().Add(-time.Minute)
	far := time.Now().Add(72 * time.Hour)
	for field, p := range map[string]otpcodes.Push{
		"totp_identifier": {Content: "1234"},
		"content":         {TOTPIdentifier: "a"},
		"type":            {TOTPIdentifier: "a", Content: "1234", Type: ptr("sms")},
		"expired_at":      {TOTPIdentifier: "a", Content: "1234", ExpiredAt: &past},
		"task_id":         {TOTPIdentifier: "a", Content: "1234", TaskID: ptr("x\x00y")},
	} {
		_, err := svc.Push(ctx, "org_a", p)
		var inv *problem.InvalidError
		if !errors.As(err, &inv) || inv.Field != field {
			t.Errorf("push missing %s: %v", field, err)
		}
	}
	if _, err := svc.Push(ctx, "org_a", otpcodes.Push{TOTPIdentifier: "a", Content: strings.Repeat("x", otpcodes.MaxContentBytes+1)}); err == nil {
		t.Error("an oversized content was accepted")
	}
	if _, err := svc.Push(ctx, "org_a", otpcodes.Push{TOTPIdentifier: "a", Content: "12\xff34"}); err == nil {
		t.Error("invalid UTF-8 content was accepted")
	}
	c, err := svc.Push(ctx, "org_a", otpcodes.Push{TOTPIdentifier: "a", Content: "12\x0034", ExpiredAt: &far})
	if err != nil || c.Content != "1234" || c.ExpiredAt.After(time.Now().Add(otpcodes.MaxTTL+time.Minute)) {
		t.Fatalf("NUL dropped and expiry capped: %+v %v", c, err)
	}
	for field, o := range map[string]otpcodes.ListOptions{
		"limit":           {Limit: otpcodes.MaxListLimit + 1},
		"otp_type":        {OTPType: "sms"},
		"totp_identifier": {TOTPIdentifier: "a\x00"},
	} {
		_, err := svc.List(ctx, "org_a", o)
		var inv *problem.InvalidError
		if !errors.As(err, &inv) || inv.Field != field {
			t.Errorf("list with a bad %s: %v", field, err)
		}
	}
}

// TestCodesAreSealed: the code and the message are stored only encrypted,
// bound to their organization and row.
func TestCodesAreSealed(t *testing.T) {
	t.Parallel()
	svc, st := setup(t)
	ctx := context.Background()
	if _, err := svc.Push(ctx, "org_a", otpcodes.Push{TOTPIdentifier: "a", Content: "Your code is 918273 for sealed-message"}); err != nil {
		t.Fatal(err)
	}
	testdb.AssertAbsent(t, st, "918273")
	testdb.AssertAbsent(t, st, "sealed-message")
	set := otpcodes.Sealed(st)
	rows, err := set.Scan(ctx, "", 10)
	if err != nil || len(rows) != 1 || !strings.Contains(string(rows[0].AD), "org_a") {
		t.Fatalf("sealed rows: %+v %v", rows, err)
	}
	// A ciphertext moved to another organization does not decrypt.
	if _, err := st.SQLDB().Exec("UPDATE totp_codes SET organization_id = 'org_b'"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.List(ctx, "org_b", otpcodes.ListOptions{}); err == nil {
		t.Fatal("a code moved to another organization decrypted")
	}
}

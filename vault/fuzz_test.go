package vault_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/credvault/credvault/vault"
)

// FuzzDecodeWire: any service answer decodes to a credential that
// re-encodes to the same fields, or to a *ContractError; never a panic.
func FuzzDecodeWire(f *testing.F) {
	for _, s := range []string{
		`{"type":"password","username":"u","password":"p","totp":"JBSWY3DPEHPK3PXP","totp_type":"authenticator","metadata":{"a":"b"}}`,
		`{"type":"credit_card","card_holder_name":"A","card_number":"4242424242424242","card_exp_month":12,"card_exp_year":"2030","card_cvv":"123","card_brand":"Visa","billing_address":{"line1":"x","country":null}}`,
		`{"type":"secret","secret_value":"v","secret_label":null}`,
		`{"type":"hunter2"}`, `{"type":1}`, `[]`, `null`, `"x"`, `{"type":"password","metadata":{"k":[1]}}`,
		"{\"type\":\"secret\",\"secret_value\":\"\x00\xff\"}", `{"type":"password","username":"u","password":"p","extra":{"deep":[1,2]}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := vault.DecodeWire(body)
		if err != nil {
			if !errors.Is(err, vault.ErrContractViolation) {
				t.Fatalf("error is not a contract violation: %v", err)
			}
			return
		}
		enc, err := vault.EncodeWire(c)
		if err != nil {
			t.Fatalf("decoded credential does not encode: %v", err)
		}
		again, err := vault.DecodeWire(enc)
		if err != nil || !again.SameFields(c) {
			t.Fatalf("re-decoding changed the credential: %v", err)
		}
	})
}

// FuzzDecodeCreate: a create body a service receives is accepted and
// valid, or refused with an *InvalidError; never a panic.
func FuzzDecodeCreate(f *testing.F) {
	for _, s := range []string{
		`{"name":"n","type":"secret","secret_value":"v"}`,
		`{"name":"n","type":"password","username":"u","password":"p","totp_type":"none"}`,
		`{"name":"n","type":"credit_card","card_holder_name":"A","card_number":"4242424242424242","card_exp_month":"1","card_exp_year":"30","card_cvv":"123","card_brand":"V"}`,
		`{"type":"secret","bogus":1}`, `{"type":"password","metadata":{"k":1}}`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := vault.DecodeCreate(body)
		if err != nil {
			if !errors.Is(err, vault.ErrInvalid) {
				t.Fatalf("error is not a validation error: %v", err)
			}
			return
		}
		if err := c.Validate(); err != nil && !errors.Is(err, vault.ErrInvalid) {
			t.Fatalf("Validate: %v", err)
		}
	})
}

// FuzzCheckURL: whatever the URL, an accepted one is absolute http(s)
// without credentials, query or fragment; with private addresses blocked,
// no accepted IP literal is a blocked address. Nothing is dialled.
func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{
		"https://creds.example.com/api/v1/credentials", "http://127.0.0.1:8081/api", "https://[::7f00:1]/x",
		"https://[64:ff9b::a00:1]/", "https://[2002:7f00:1::]/", "https://[2001::1]/", "https://[::ffff:10.0.0.1]/",
		"https://[fec0::1]/", "http://localhost/x", "https://user:pw@example.com/", "https://example.com/?q#f",
		"ftp://example.com", "https://169.254.169.254/latest", "https://0x7f.1/", "https://%31%32%37.0.0.1/", "\x00",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, block bool) {
		p, err := vault.NewAddressPolicy(nil, block)
		if err != nil {
			t.Fatal(err)
		}
		u, err := p.CheckURL("api_base_url", raw)
		if err != nil {
			if !errors.Is(err, vault.ErrInvalid) {
				t.Fatalf("refusal is not a validation error: %v", err)
			}
			return
		}
		if (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Host == "" {
			t.Fatalf("accepted %q", u.Redacted())
		}
		if ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]")); err == nil && block && vault.Blocked(ip) {
			t.Fatalf("accepted the blocked address %s", ip)
		}
	})
}

// FuzzRedactor: redaction never leaves a secret of 3 or more characters in
// the excerpt, whatever the message.
func FuzzRedactor(f *testing.F) {
	f.Add("token-0123456789", "123", "the service said token-0123456789 and 123")
	f.Add("P@ss<w0rd>", "x", `{"detail":"P%40ss%3Cw0rd%3E"}`)
	f.Fuzz(func(t *testing.T, a, b, msg string) {
		out := vault.NewRedactor(a, b).Redact(msg + a + msg + b)
		// A leak is a secret inside what is left between redaction marks.
		for _, piece := range strings.Split(out, "[REDACTED]") {
			for _, s := range []string{a, b} {
				if len([]rune(s)) >= 3 && strings.Contains(piece, s) {
					t.Fatalf("a secret survived redaction")
				}
			}
		}
	})
}

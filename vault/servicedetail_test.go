package vault_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/credvault/credvault/vault"
)

// TestServiceDetailDropsEveryEchoForm: a service's words that carry a
// secret in any form (whole, truncated, base64 of it, of "Bearer <it>" or
// of a JSON body around it, line-wrapped, double URL-encoded, any case)
// are dropped whole; plain words are kept, one line, at most 200
// characters.
func TestServiceDetailDropsEveryEchoForm(t *testing.T) {
	const token = "tok-9f8e7d6c5b4a3210"
	const pw = "hunter2-correct-horse"
	body := `{"type":"password","username":"u","password":"` + pw + `"}`
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	wrapped := b64(body + body)
	wrapped = wrapped[:40] + "\r\n" + wrapped[40:80]
	for name, msg := range map[string]string{
		"raw":               "bad token " + token,
		"upper":             "BAD " + strings.ToUpper(pw),
		"truncated":         "password starts " + pw[:9] + "...",
		"base64 bearer":     "auth header was " + b64("Bearer "+token),
		"base64 of body":    "you sent " + b64(body),
		"base64 at offset":  "you sent " + b64("x"+body),
		"base64 wrapped":    "you sent\n" + wrapped,
		"double url":        "q=" + url.QueryEscape(url.QueryEscape(pw+"&x")),
		"url base64":        "b=" + base64.RawURLEncoding.EncodeToString([]byte(pw)),
		"long opaque run":   "ref 3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"run inside a word": "see x" + token[2:12] + "y",
	} {
		if got := vault.ServiceDetail(msg, token, pw); got != "" {
			t.Errorf("%s: kept %q", name, got)
		}
	}
	if got := vault.ServiceDetail("database\nis down", token, pw); got != "database is down" {
		t.Errorf("plain words = %q", got)
	}
	if got := vault.ServiceDetail(strings.Repeat("slow ", 100), token); len([]rune(got)) > vault.MaxServiceDetail {
		t.Errorf("detail of %d characters", len(got))
	}
}

func FuzzServiceDetail(f *testing.F) {
	f.Add("database is down", "secret-token-1234")
	f.Add("echo secret-token-1234", "secret-token-1234")
	f.Fuzz(func(t *testing.T, msg, secret string) {
		got := vault.ServiceDetail(msg, secret)
		if len(secret) >= 8 && got != "" && strings.Contains(strings.ToLower(got), strings.ToLower(secret)) {
			t.Fatalf("kept a secret")
		}
	})
}

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/testdb"
)

// TestPushedOTPCodes: Skyvern's POST/GET /credentials/totp — codes are
// extracted, encrypted at rest, listed per organization with Skyvern's
// filters, expire, and never reach the logs.
func TestPushedOTPCodes(t *testing.T) {
	t.Parallel()
	for _, kind := range testdb.Kinds {
		t.Run(string(kind), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, kind)
			_, key := h.org("A")
			_, keyB := h.org("B")
			push := func(body map[string]any) response {
				t.Helper()
				return h.do("POST", "/v1/credentials/totp", key, body)
			}
			r := push(map[string]any{"totp_identifier": "Alice@Example.com", "content": "Your verification code is 482913. It expires soon.",
				"workflow_run_id": "wr_1", "source": "email"})
			if r.status != 200 {
				t.Fatalf("push = %d %s", r.status, r.body)
			}
			got := r.json(t)
			if got["code"] != "482913" || got["otp_type"] != "totp" || got["totp_identifier"] != "alice@example.com" ||
				!strings.HasPrefix(got["totp_code_id"].(string), "totp_") {
				t.Fatalf("pushed code = %v", got)
			}
			if r := push(map[string]any{"totp_identifier": "+14155550123", "content": "  774411 "}); r.status != 200 || r.json(t)["code"] != "774411" {
				t.Fatalf("short code = %d %s", r.status, r.body)
			}
			if r := push(map[string]any{"totp_identifier": "bob@example.com", "content": "Sign in: https://app.example.com/magic?t=abc"}); r.json(t)["otp_type"] != "magic_link" {
				t.Fatalf("magic link = %s", r.body)
			}
			past := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
			for _, bad := range []map[string]any{
				{"content": "123456"}, {"totp_identifier": "x", "content": " "}, {"totp_identifier": "x"},
				{"totp_identifier": "x", "content": "123456", "type": "sms"}, {"totp_identifier": "x", "content": "123456", "expired_at": past},
				{"totp_identifier": "x", "content": "123456", "bogus": 1},
			} {
				if r := push(bad); r.status != 400 {
					t.Errorf("push %v = %d, want 400", bad, r.status)
				}
			}

			list := func(k, q string) []map[string]any {
				t.Helper()
				r := h.do("GET", "/api/v1/credentials/totp"+q, k, nil)
				if r.status != 200 {
					t.Fatalf("list %s = %d %s", q, r.status, r.body)
				}
				var out []map[string]any
				_ = json.Unmarshal(r.body, &out)
				return out
			}
			if n := len(list(key, "")); n != 3 {
				t.Fatalf("list = %d codes, want 3", n)
			}
			if l := list(key, "?totp_identifier=alice@example.com"); len(l) != 1 || l[0]["code"] != "482913" {
				t.Fatalf("identifier filter = %v", l)
			}
			if l := list(key, "?workflow_run_id=wr_1&otp_type=totp&limit=5"); len(l) != 1 {
				t.Fatalf("run filter = %d", len(l))
			}
			if l := list(key, "?otp_type=magic_link"); len(l) != 1 {
				t.Fatalf("type filter = %d", len(l))
			}
			if l := list(keyB, ""); len(l) != 0 {
				t.Fatalf("another organization sees %d codes", len(l))
			}
			if r := h.do("GET", "/api/v1/credentials/totp?limit=201", key, nil); r.status != 400 {
				t.Fatalf("limit 201 = %d", r.status)
			}
			// Encrypted at rest, never logged.
			h.assertNoSecret("482913", "774411", "Your verification code")
			// Expired codes are not listed.
			soon := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339Nano)
			if r := push(map[string]any{"totp_identifier": "carol@example.com", "content": "code 909090", "expired_at": soon}); r.status != 200 {
				t.Fatalf("push with expiry = %d %s", r.status, r.body)
			}
			deadline := time.Now().Add(10 * time.Second)
			for len(list(key, "?totp_identifier=carol@example.com")) != 0 {
				if time.Now().After(deadline) {
					t.Fatal("an expired code is still listed")
				}
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// TestMagicLinkTab: what Skyvern's web app sends from its Magic Links
// flow ("type": "magic_link", a link holding 4+ digits) is stored as that
// link, typed magic_link, and listed where its Magic Links tab reads
// (?otp_type=magic_link) — not as a numeric code; a message sent without a
// type keeps today's extraction.
func TestMagicLinkTab(t *testing.T) {
	t.Parallel()
	h, _, _, key := configured(t, testdb.SQLite)
	link := "https://app.example.com/login/verify?token=83920417&user=5521"
	r := h.do("POST", "/api/v1/credentials/totp", key, map[string]any{"totp_identifier": "alice@example.com",
		"content": "Click to sign in: " + link, "type": "magic_link"})
	if m := r.json(t); r.status != 200 || m["code"] != link || m["otp_type"] != "magic_link" {
		t.Fatalf("pushed magic link = %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/api/v1/credentials/totp", key, map[string]any{"totp_identifier": "alice@example.com",
		"content": "Your code is 483920 " + link}); r.json(t)["code"] != "483920" || r.json(t)["otp_type"] != "totp" {
		t.Fatalf("a message without a type = %s", r.body)
	}
	var tab []map[string]any
	if err := json.Unmarshal(h.do("GET", "/api/v1/credentials/totp?otp_type=magic_link", key, nil).body, &tab); err != nil || len(tab) != 1 || tab[0]["code"] != link {
		t.Fatalf("the Magic Links tab lists %v (%v)", tab, err)
	}
}

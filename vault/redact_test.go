package vault

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// forms are the encodings of s a hostile service might echo.
func forms(s string) map[string]string {
	j, _ := json.Marshal(s)
	return map[string]string{
		"raw": s, "json": string(j[1 : len(j)-1]), "query": url.QueryEscape(s), "path": url.PathEscape(s),
		"upper": strings.ToUpper(s), "lower": strings.ToLower(s), "base64": base64.StdEncoding.EncodeToString([]byte(s)),
	}
}

func TestRedactorRemovesEveryForm(t *testing.T) {
	t.Parallel()
	token := "fake-token-0123456789abcdef"
	secrets := []string{token, "123", `P@ss<w0rd>&"q"/ü x`, "4242424242424242"}
	r := NewRedactor(secrets...)
	for _, s := range secrets {
		for name, f := range forms(s) {
			msg := "the service said: <" + f + "> and again " + f + "."
			out := r.Redact(msg)
			for _, s2 := range secrets {
				for name2, f2 := range forms(s2) {
					if len(f2) >= 3 && strings.Contains(strings.ToLower(out), strings.ToLower(f2)) {
						t.Errorf("%s form of a secret echoed as %s survives redaction (%s form)", name2, name, name)
					}
				}
			}
			if !strings.Contains(out, "[REDACTED]") || !strings.HasPrefix(out, "the service said: <") {
				t.Errorf("%s form: message mangled", name)
			}
		}
	}
	// The token holds "123": it must go whole, not leave its two halves.
	if out := r.Redact("Bearer " + token); out != "Bearer [REDACTED]" {
		t.Errorf("token containing a shorter secret: %q", strings.ReplaceAll(out, "0", "o"))
	}
}

func TestRedactorShortSecrets(t *testing.T) {
	t.Parallel()
	r := NewRedactor("7", "US")
	cases := map[string]string{
		`month "7" is invalid`:        `month "[REDACTED]" is invalid`,
		"country us not served":       "country [REDACTED] not served",
		"error 1007 in campus":        "error 1007 in campus",
		"7":                           "[REDACTED]",
		"card_exp_month=7&country=US": "card_exp_month=[REDACTED]&country=[REDACTED]",
	}
	for in, want := range cases {
		if got := r.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestExcerptBoundsAfterRedaction(t *testing.T) {
	t.Parallel()
	secret := strings.Repeat("s", 50) + "tail-of-the-secret"
	msg := strings.Repeat("x", 190) + secret + "\x00\n"
	out := NewRedactor(secret).Excerpt(msg)
	if strings.Contains(out, "tail") || strings.Contains(out, "sssss") {
		t.Fatal("a truncated secret survived the excerpt")
	}
	if n := len([]rune(out)); n > MaxExcerpt+1 {
		t.Fatalf("excerpt has %d characters, want at most %d plus the ellipsis", n, MaxExcerpt)
	}
	if strings.ContainsAny(out, "\x00\n") {
		t.Fatal("control characters survive")
	}
}

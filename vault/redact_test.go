package vault

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
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

// A secret disguised so a person reads it the same is redacted: split by
// zero-width characters, in full-width letters, as HTML character
// references, and all three at once.
func TestRedactorSeesThroughDisguises(t *testing.T) {
	const secret = "s3cret-Token-42"
	r := NewRedactor(secret)
	fullWidth := strings.Map(func(c rune) rune {
		if c > ' ' && c < 0x7f {
			return c - 0x21 + 0xFF01
		}
		return c
	}, secret)
	var entities, decimal strings.Builder
	for _, c := range secret {
		fmt.Fprintf(&entities, "&#x%x;", c)
		fmt.Fprintf(&decimal, "&#%d;", c)
	}
	zeroWidth := strings.Join(strings.Split(secret, ""), "\u200b")
	for name, disguised := range map[string]string{
		"zero-width space":  zeroWidth,
		"zero-width joiner": strings.Join(strings.Split(secret, ""), "\u200d"),
		"soft hyphen":       strings.Join(strings.Split(secret, ""), "\u00ad"),
		"full-width":        fullWidth,
		"hex entities":      entities.String(),
		"decimal entities":  decimal.String(),
		"named entity":      strings.Replace(secret, "-", "&#45;", 1),
		"all three":         mixed(secret),
	} {
		msg := "upstream said: invalid token " + disguised + " for user"
		got := r.Redact(msg)
		if strings.Contains(got, secret) || strings.Contains(got, disguised) || !strings.Contains(got, "[REDACTED]") {
			t.Errorf("%s: %q", name, got)
		}
		if !strings.Contains(got, "upstream said") {
			t.Errorf("%s: the message around the secret is lost: %q", name, got)
		}
	}
	// Text without a disguised secret keeps its own form.
	for _, msg := range []string{"caf\u00e9 &amp; cr\u00e8me: ok", "ｆｕｌｌ width, no secret", "plain"} {
		if got := r.Redact(msg); got != msg {
			t.Errorf("%q became %q", msg, got)
		}
	}
}

// mixed disguises s three ways at once: full-width letters, a word joiner
// between each, and its last character as a character reference.
func mixed(s string) string {
	var b strings.Builder
	for i, c := range s {
		switch {
		case i == len(s)-1:
			fmt.Fprintf(&b, "&#x%x;", c)
		case c > ' ' && c < 0x7f:
			b.WriteRune(c - 0x21 + 0xFF01)
			b.WriteString("\u2060")
		default:
			b.WriteRune(c)
		}
	}
	return b.String()
}

// A service's words that hold part of a secret in a disguise never reach
// the log.
func TestServiceDetailSeesThroughDisguises(t *testing.T) {
	const secret = "s3cret-Token-42-abcdef"
	for _, msg := range []string{"bad token " + mixed(secret[:12]), "bad token " + strings.Join(strings.Split(secret[:12], ""), "\u200b")} {
		if got := ServiceDetail(msg, secret); got != "" {
			t.Errorf("%q reached the log as %q", msg, got)
		}
	}
	if got := ServiceDetail("the token was rejected", secret); got != "the token was rejected" {
		t.Errorf("an innocent message: %q", got)
	}
}

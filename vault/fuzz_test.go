package vault_test

import (
	"strings"
	"testing"

	"github.com/credvault/credvault/vault"
)

// FuzzRedactor: redaction never leaves a secret of 3 or more characters in
// the excerpt, whatever the message.
func FuzzRedactor(f *testing.F) {
	f.Add("token-0123456789", "123", "the service said testcred.Token-0123456789 and 123")
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

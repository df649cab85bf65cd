package config

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
)

// redactedMark replaces a secret in every printed form.
const redactedMark = "[redacted]"

// Secret is a configuration value that is key material or a credential
// (the service token, the inline keyset). Every printed form of it — every
// fmt verb, JSON, slog — is "[redacted]" when it is set and empty when it
// is not, so a Config, or the field alone, can be logged or dumped
// without showing it. Reveal returns the value, for the one place that
// uses it.
type Secret string

// Reveal returns the secret itself.
func (s Secret) Reveal() string { return string(s) }

// Format prints the redacted form for every verb.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, s.redacted()) }

// MarshalJSON encodes the redacted form.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.redacted()) }

// LogValue is slog's form: the redacted one.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.redacted()) }

func (s Secret) redacted() string {
	if s == "" {
		return ""
	}
	return redactedMark
}

// SecretURL is a database URL that may hold a password (in its user info
// or its query). Every printed form of it shows the URL with the password
// replaced by "xxxxx" (and a value that does not parse as a URL, which
// may hold anything, as "[redacted]").
type SecretURL string

// Reveal returns the URL itself, password included.
func (u SecretURL) Reveal() string { return string(u) }

// Format prints the redacted form for every verb.
func (u SecretURL) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, u.redacted()) }

// MarshalJSON encodes the redacted form.
func (u SecretURL) MarshalJSON() ([]byte, error) { return json.Marshal(u.redacted()) }

// LogValue is slog's form: the redacted one.
func (u SecretURL) LogValue() slog.Value { return slog.StringValue(u.redacted()) }

func (u SecretURL) redacted() string {
	if u == "" {
		return ""
	}
	return redactURL(string(u))
}

// redactURL hides a database URL's password; a value that is not a URL
// may hold anything, so it is hidden whole.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return redactedMark
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, "xxxxx")
		}
	}
	u.RawQuery = q.Encode()
	return u.Redacted()
}

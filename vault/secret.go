package vault

import (
	"fmt"
	"io"
	"log/slog"
)

const redacted = "[REDACTED]"

// Secret holds a secret string. Every way of printing it — fmt verbs,
// String, GoString, JSON and slog — yields "[REDACTED]"; only Reveal
// returns the value. The zero Secret is empty.
type Secret struct {
	value string
}

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{value: s} }

// Reveal returns the secret value. Call it only where the value must leave
// the process (the wire to the credential service).
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

// String redacts.
func (Secret) String() string { return redacted }

// GoString redacts.
func (Secret) GoString() string { return redacted }

// Format redacts for every verb.
func (Secret) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// MarshalJSON redacts.
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// MarshalText redacts.
func (Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

// LogValue redacts.
func (Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// Metadata is the optional string map stored with a credential in the
// service. It is printed redacted, since customers put anything in it.
type Metadata map[string]string

// String redacts.
func (m Metadata) String() string { return redacted }

// GoString redacts.
func (m Metadata) GoString() string { return redacted }

// Format redacts for every verb.
func (m Metadata) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// LogValue redacts.
func (m Metadata) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalJSON redacts.
func (m Metadata) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

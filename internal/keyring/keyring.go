// Package keyring owns every use of Tink in credvault: loading an AEAD
// keyset, generating one, its key lifecycle (add, promote, re-encrypt,
// disable), and encrypting with associated data
// that binds each ciphertext to what it protects (an organization and a
// purpose, or an item id). No other package imports Tink.
//
// It uses github.com/tink-crypto/tink-go/v2, the maintained continuation of
// github.com/google/tink/go.
package keyring

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// ErrDecrypt is returned when a ciphertext does not decrypt: wrong key,
// tampered data, or associated data that does not match (a ciphertext
// copied from another organization's row).
var ErrDecrypt = errors.New("keyring: ciphertext does not decrypt with this keyset and associated data")

// ErrNoKeyset is returned by Load when no keyset is configured and none may
// be generated.
var ErrNoKeyset = errors.New("keyring: no keyset configured")

// Keyring encrypts and decrypts with one Tink AEAD keyset. It is safe for
// concurrent use.
type Keyring struct {
	primitive tink.AEAD
	primary   uint32
}

// Parse reads a cleartext JSON keyset.
func Parse(jsonKeyset []byte) (*Keyring, error) {
	h, err := read(jsonKeyset)
	if err != nil {
		return nil, err
	}
	p, err := aead.New(h)
	if err != nil {
		return nil, errors.New("keyring: keyset holds no AEAD key")
	}
	return &Keyring{primitive: p, primary: h.KeysetInfo().GetPrimaryKeyId()}, nil
}

// LoadFile reads a cleartext JSON keyset from path.
func LoadFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: cannot read keyset file %s: %w", path, errors.Unwrap(err))
	}
	k, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return k, nil
}

// Generate returns a new cleartext JSON keyset holding one AES-256-GCM key.
func Generate() ([]byte, error) {
	h, err := keyset.NewHandle(aead.AES256GCMKeyTemplate())
	if err != nil {
		return nil, fmt.Errorf("keyring: generate: %w", err)
	}
	return marshal(h)
}

func marshal(h *keyset.Handle) ([]byte, error) {
	var buf bytes.Buffer
	if err := insecurecleartextkeyset.Write(h, keyset.NewJSONWriter(&buf)); err != nil {
		return nil, fmt.Errorf("keyring: write keyset: %w", err)
	}
	return buf.Bytes(), nil
}

// WriteNewFile generates a keyset and writes it to path with mode 0600. It
// refuses to overwrite an existing file, so a key cannot be lost by a typo.
func WriteNewFile(path string) error {
	b, err := Generate()
	if err != nil {
		return err
	}
	return writeExclusive(path, b)
}

// WriteFile writes a JSON keyset to a new file at path with mode 0600.
func WriteFile(path string, jsonKeyset []byte) error { return writeExclusive(path, jsonKeyset) }

func writeExclusive(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: a keyset is never overwritten (its keys decrypt what is stored); choose another path", path)
	}
	if err != nil {
		return fmt.Errorf("cannot create the keyset file %s: %w", path, errors.Unwrap(err))
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("keyring: write %s: %w", path, err)
	}
	return f.Close()
}

// Source says where a keyset comes from.
type Source struct {
	File   string // a keyset file path
	Inline string // an inline JSON keyset
	// GenerateAt, when set and neither File nor Inline is, is where a
	// keyset is generated on first use and then read back (embedded mode).
	GenerateAt string
}

// Load returns the keyring described by src. generated reports whether a
// new keyset was written at src.GenerateAt, so the caller can warn.
func Load(src Source) (k *Keyring, generated bool, err error) {
	switch {
	case src.File != "":
		k, err = LoadFile(src.File)
		return k, false, err
	case src.Inline != "":
		k, err = Parse([]byte(src.Inline))
		return k, false, err
	case src.GenerateAt == "":
		return nil, false, ErrNoKeyset
	}
	if _, statErr := os.Stat(src.GenerateAt); statErr == nil {
		k, err = LoadFile(src.GenerateAt)
		return k, false, err
	}
	if err := WriteNewFile(src.GenerateAt); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, false, err
	} else if err == nil {
		generated = true
	}
	k, err = LoadFile(src.GenerateAt)
	return k, generated, err
}

// Encrypt seals plaintext, binding it to associatedData.
func (k *Keyring) Encrypt(plaintext, associatedData []byte) ([]byte, error) {
	ct, err := k.primitive.Encrypt(plaintext, associatedData)
	if err != nil {
		return nil, errors.New("keyring: encryption failed")
	}
	return ct, nil
}

// Decrypt opens ciphertext sealed with the same associatedData. Any failure
// is ErrDecrypt; the reason is not distinguishable by design.
func (k *Keyring) Decrypt(ciphertext, associatedData []byte) ([]byte, error) {
	pt, err := k.primitive.Decrypt(ciphertext, associatedData)
	if err != nil {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// OpenToOthers reports whether the keyset file at path can be read or
// written by users other than its owner (and its mode), for a warning at
// start-up.
func OpenToOthers(path string) (os.FileMode, bool) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, false
	}
	return fi.Mode().Perm(), fi.Mode().Perm()&0o077 != 0
}

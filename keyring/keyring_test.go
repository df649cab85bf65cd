package keyring_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/credvault/credvault/keyring"
)

func TestEncryptBindsAssociatedData(t *testing.T) {
	t.Parallel()
	b, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyring.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	adA := keyring.AssociatedData("org_a", "custom_credential_service")
	ct, err := k.Encrypt([]byte("s3cret"), adA)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("s3cret")) {
		t.Fatal("ciphertext contains the plaintext")
	}
	if pt, err := k.Decrypt(ct, adA); err != nil || string(pt) != "s3cret" {
		t.Fatalf("decrypt = %q, %v", pt, err)
	}
	if _, err := k.Decrypt(ct, keyring.AssociatedData("org_b", "custom_credential_service")); !errors.Is(err, keyring.ErrDecrypt) {
		t.Fatalf("decrypt with another organization's AD: %v, want ErrDecrypt", err)
	}
	if bytes.Equal(keyring.AssociatedData("ab", "c"), keyring.AssociatedData("a", "bc")) {
		t.Fatal("associated data is ambiguous")
	}
}

func TestRotateKeepsOldCiphertextsReadable(t *testing.T) {
	t.Parallel()
	b, _ := keyring.Generate()
	old, _ := keyring.Parse(b)
	ct, _ := old.Encrypt([]byte("v"), nil)
	rb, err := keyring.Rotate(b)
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := keyring.Parse(rb)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := rotated.Decrypt(ct, nil); err != nil || string(pt) != "v" {
		t.Fatalf("old ciphertext after rotation: %q, %v", pt, err)
	}
	nct, _ := rotated.Encrypt([]byte("v"), nil)
	if _, err := old.Decrypt(nct, nil); err == nil {
		t.Fatal("new ciphertext decrypts with the old keyset: rotation did not change the primary key")
	}
}

func TestLoadRules(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gen := filepath.Join(dir, "data", "keyset.json")

	if _, _, err := keyring.Load(keyring.Source{}); !errors.Is(err, keyring.ErrNoKeyset) {
		t.Fatalf("no source: %v, want ErrNoKeyset", err)
	}
	k1, generated, err := keyring.Load(keyring.Source{GenerateAt: gen})
	if err != nil || !generated {
		t.Fatalf("first load: generated=%v err=%v", generated, err)
	}
	fi, err := os.Stat(gen)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("generated keyset mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	ct, _ := k1.Encrypt([]byte("x"), nil)
	k2, generated, err := keyring.Load(keyring.Source{GenerateAt: gen})
	if err != nil || generated {
		t.Fatalf("second load: generated=%v err=%v; want the same keyset reused", generated, err)
	}
	if _, err := k2.Decrypt(ct, nil); err != nil {
		t.Fatal("reloaded keyset cannot decrypt: a new key was generated")
	}
	if err := keyring.WriteNewFile(gen); err == nil {
		t.Fatal("WriteNewFile overwrote an existing keyset")
	}
	if _, _, err := keyring.Load(keyring.Source{Inline: "not json"}); err == nil {
		t.Fatal("invalid inline keyset accepted")
	}
	if _, _, err := keyring.Load(keyring.Source{File: filepath.Join(dir, "missing.json")}); err == nil {
		t.Fatal("missing keyset file accepted")
	}
}

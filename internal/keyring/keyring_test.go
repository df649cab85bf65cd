package keyring_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/sealed"
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
	adA := sealed.AssociatedData("org_a", "custom_credential_service")
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
	if _, err := k.Decrypt(ct, sealed.AssociatedData("org_b", "custom_credential_service")); !errors.Is(err, keyring.ErrDecrypt) {
		t.Fatalf("decrypt with another organization's AD: %v, want ErrDecrypt", err)
	}
	if bytes.Equal(sealed.AssociatedData("ab", "c"), sealed.AssociatedData("a", "bc")) {
		t.Fatal("associated data is ambiguous")
	}
}

// TestKeyLifecycle: add (old processes still read everything new ones
// write), promote (new ciphertexts under the new key), re-encrypt
// (resumable, only unchanged rows rewritten), disable (the old key no
// longer decrypts; the primary cannot be disabled).
func TestKeyLifecycle(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	b, _ := keyring.Generate()
	old, _ := keyring.Parse(b)
	keys, _ := keyring.Keys(b)
	if len(keys) != 1 || !keys[0].Primary || keys[0].Status != "enabled" || keys[0].ID != old.PrimaryID() {
		t.Fatalf("keys of a new keyset = %+v", keys)
	}
	oldID := keys[0].ID

	added, newID, err := keyring.AddKey(b)
	if err != nil {
		t.Fatal(err)
	}
	withNew, _ := keyring.Parse(added)
	ct, _ := withNew.Encrypt([]byte("v"), []byte("ad"))
	if id, _ := keyring.KeyIDOf(ct); id != oldID {
		t.Fatalf("after add, ciphertexts use key %d, want the old primary %d", id, oldID)
	}
	if pt, err := old.Decrypt(ct, []byte("ad")); err != nil || string(pt) != "v" {
		t.Fatal("a process on the previous keyset cannot read what an added-key process writes")
	}
	if _, err := keyring.Promote(added, 12345); err == nil {
		t.Fatal("promoted a key that does not exist")
	}
	promoted, err := keyring.Promote(added, newID)
	if err != nil {
		t.Fatal(err)
	}
	kr, _ := keyring.Parse(promoted)
	if kr.PrimaryID() != newID {
		t.Fatalf("primary = %d, want %d", kr.PrimaryID(), newID)
	}
	if _, err := keyring.DisableKey(promoted, newID); err == nil || !strings.Contains(err.Error(), "primary") {
		t.Fatalf("disabling the primary: %v", err)
	}

	// A set of three rows under the old key; one is rewritten by someone
	// else between the scan and the replace.
	rows := map[string][]byte{}
	for _, id := range []string{"a", "b", "c"} {
		rows[id], _ = old.Encrypt([]byte("secret-"+id), []byte(id))
	}
	set := sealed.Set{Name: "test",
		Scan: func(_ context.Context, after string, limit int) ([]sealed.Row, error) {
			var out []sealed.Row
			for _, id := range []string{"a", "b", "c"} {
				if id > after && len(out) < limit {
					out = append(out, sealed.Row{ID: id, Ciphertext: rows[id], AD: []byte(id)})
				}
			}
			return out, nil
		},
		Replace: func(_ context.Context, id string, prev, next []byte) (bool, error) {
			if id == "b" {
				rows[id], _ = kr.Encrypt([]byte("secret-b2"), []byte(id)) // a concurrent write
			}
			if !bytes.Equal(rows[id], prev) {
				return false, nil
			}
			rows[id] = next
			return true, nil
		}}
	counts, _ := keyring.CountByKey(ctx, []sealed.Set{set})
	if counts[oldID] != 3 {
		t.Fatalf("counts = %v, want 3 under the old key", counts)
	}
	rep, err := kr.Reencrypt(ctx, []sealed.Set{set}, nil)
	if err != nil || rep[0].Checked != 3 || rep[0].Reencrypted != 2 || rep[0].Changed != 1 {
		t.Fatalf("reencrypt = %+v %v", rep, err)
	}
	if rep, _ := kr.Reencrypt(ctx, []sealed.Set{set}, nil); rep[0].Reencrypted != 0 {
		t.Fatalf("a second run re-encrypted %d rows", rep[0].Reencrypted)
	}
	counts, _ = keyring.CountByKey(ctx, []sealed.Set{set})
	if counts[oldID] != 0 || counts[newID] != 3 {
		t.Fatalf("counts after reencrypt = %v", counts)
	}
	disabled, err := keyring.DisableKey(promoted, oldID)
	if err != nil {
		t.Fatal(err)
	}
	final, _ := keyring.Parse(disabled)
	if _, err := final.Decrypt(ct, []byte("ad")); err == nil {
		t.Fatal("a ciphertext under the disabled key still decrypts")
	}
	for id, c := range rows {
		if _, err := final.Decrypt(c, []byte(id)); err != nil {
			t.Fatalf("row %s does not decrypt after the old key was disabled", id)
		}
	}
	keys, _ = keyring.Keys(disabled)
	if len(keys) != 2 {
		t.Fatalf("keys = %+v", keys)
	}
	for _, k := range keys {
		if (k.ID == oldID) != (k.Status == "disabled") || (k.ID == newID) != k.Primary {
			t.Fatalf("keys = %+v", keys)
		}
	}
}

func TestReplaceFileIsAtomicAndPrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "keyset.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := keyring.ReplaceFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if string(b) != "new" || fi.Mode().Perm() != 0o600 {
		t.Fatalf("after replace: %q mode %v", b, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("temporary files left: %v", entries)
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

func TestOpenToOthers(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "k.json")
	if _, open := keyring.OpenToOthers(path); open {
		t.Fatal("a missing file is open to others")
	}
	os.WriteFile(path, []byte("{}"), 0o600)
	if _, open := keyring.OpenToOthers(path); open {
		t.Fatal("a 0600 file is open to others")
	}
	os.Chmod(path, 0o644)
	if mode, open := keyring.OpenToOthers(path); !open || mode != 0o644 {
		t.Fatalf("0644: %v %v", mode, open)
	}
}

// TestReplaceFileWritesThroughASymlink: a keyset reached through a
// symbolic link (a mounted secret, say) is rewritten where the link
// points; the link stays a link. A link to nothing is refused, naming it.
func TestReplaceFileWritesThroughASymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real", "keyset.json")
	if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "keyset.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := keyring.ReplaceFile(link, []byte("new")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced by a file: %v %v", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Fatalf("the target holds %q, want the new keyset", b)
	}
	dangling := filepath.Join(dir, "dangling.json")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), dangling); err != nil {
		t.Fatal(err)
	}
	if err := keyring.ReplaceFile(dangling, []byte("x")); err == nil || !strings.Contains(err.Error(), dangling) {
		t.Fatalf("a dangling link: %v, want a refusal naming it", err)
	}
}

// A row that does not decrypt (moved, corrupt, under a key no longer in
// the keyset) is counted and named, and every row after it is still
// re-encrypted.
func TestReencryptGoesOnPastABadRow(t *testing.T) {
	ctx := context.Background()
	oldSet, _ := keyring.Generate()
	old, _ := keyring.Parse(oldSet)
	added, newID, _ := keyring.AddKey(oldSet)
	promoted, _ := keyring.Promote(added, newID)
	kr, _ := keyring.Parse(promoted)
	ids := []string{"a", "b", "c", "d"}
	rows := map[string][]byte{}
	for _, id := range ids {
		rows[id], _ = old.Encrypt([]byte("secret-"+id), []byte(id))
	}
	rows["b"], _ = old.Encrypt([]byte("secret-b"), []byte("another row's")) // moved: its AD does not match
	rows["c"] = append([]byte(nil), rows["c"][:len(rows["c"])-1]...)        // cut short
	set := sealed.Set{Name: "test",
		Scan: func(_ context.Context, after string, limit int) ([]sealed.Row, error) {
			var out []sealed.Row
			for _, id := range ids {
				if id > after && len(out) < limit {
					out = append(out, sealed.Row{ID: id, Ciphertext: rows[id], AD: []byte(id)})
				}
			}
			return out, nil
		},
		Replace: func(_ context.Context, id string, prev, next []byte) (bool, error) {
			rows[id] = next
			return true, nil
		}}
	rep, err := kr.Reencrypt(ctx, []sealed.Set{set}, nil)
	if !errors.Is(err, keyring.ErrNotReencrypted) {
		t.Fatalf("err = %v, want ErrNotReencrypted", err)
	}
	if len(rep) != 1 || rep[0].Checked != 4 || rep[0].Reencrypted != 2 || rep[0].Failed != 2 ||
		strings.Join(rep[0].FailedIDs, ",") != "b,c" {
		t.Fatalf("report = %+v", rep)
	}
	for _, id := range []string{"a", "d"} {
		if pt, err := kr.Decrypt(rows[id], []byte(id)); err != nil || string(pt) != "secret-"+id {
			t.Fatalf("row %s after the bad ones: %q %v", id, pt, err)
		}
		if kid, _ := keyring.KeyIDOf(rows[id]); kid != newID {
			t.Fatalf("row %s is under key %d, want %d", id, kid, newID)
		}
	}
}

package keyring

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/credvault/credvault/sealed"

	"github.com/tink-crypto/tink-go/v2/aead"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
	tinkpb "github.com/tink-crypto/tink-go/v2/proto/tink_go_proto"
)

// Key lifecycle, in Tink's safe order: AddKey (the new key decrypts but
// does not encrypt), deploy the keyset everywhere, Promote it (new
// ciphertexts use it), re-encrypt what is stored, then DisableKey the old
// one once no ciphertext needs it. A process still on the previous keyset
// can read everything at every step but the last.

// KeyInfo describes one key of a keyset (never its material).
type KeyInfo struct {
	ID      uint32 `json:"key_id"`
	Status  string `json:"status"` // enabled, disabled or destroyed
	Primary bool   `json:"primary"`
}

func read(jsonKeyset []byte) (*keyset.Handle, error) {
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(jsonKeyset)))
	if err != nil {
		return nil, errors.New("keyring: not a valid Tink JSON keyset")
	}
	return h, nil
}

// Keys lists the keys of a JSON keyset.
func Keys(jsonKeyset []byte) ([]KeyInfo, error) {
	h, err := read(jsonKeyset)
	if err != nil {
		return nil, err
	}
	info := h.KeysetInfo()
	var out []KeyInfo
	for _, k := range info.GetKeyInfo() {
		st := "destroyed"
		switch k.GetStatus() {
		case tinkpb.KeyStatusType_ENABLED:
			st = "enabled"
		case tinkpb.KeyStatusType_DISABLED:
			st = "disabled"
		}
		out = append(out, KeyInfo{ID: k.GetKeyId(), Status: st, Primary: k.GetKeyId() == info.GetPrimaryKeyId()})
	}
	return out, nil
}

// manage applies f to the keyset's manager and returns the new keyset.
func manage(jsonKeyset []byte, f func(m *keyset.Manager) error) ([]byte, error) {
	h, err := read(jsonKeyset)
	if err != nil {
		return nil, err
	}
	m := keyset.NewManagerFromHandle(h)
	if err := f(m); err != nil {
		return nil, err
	}
	nh, err := m.Handle()
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return marshal(nh)
}

func find(jsonKeyset []byte, id uint32) (KeyInfo, error) {
	keys, err := Keys(jsonKeyset)
	if err != nil {
		return KeyInfo{}, err
	}
	for _, k := range keys {
		if k.ID == id {
			return k, nil
		}
	}
	return KeyInfo{}, fmt.Errorf("keyring: the keyset has no key %d", id)
}

// AddKey adds a new AES-256-GCM key, enabled but not primary: processes
// given the new keyset can decrypt what it will encrypt once promoted.
func AddKey(jsonKeyset []byte) ([]byte, uint32, error) {
	var id uint32
	b, err := manage(jsonKeyset, func(m *keyset.Manager) error {
		var err error
		id, err = m.Add(aead.AES256GCMKeyTemplate())
		return err
	})
	return b, id, err
}

// Promote makes key id (enabled) the primary: new ciphertexts use it.
func Promote(jsonKeyset []byte, id uint32) ([]byte, error) {
	k, err := find(jsonKeyset, id)
	if err != nil {
		return nil, err
	}
	if k.Status != "enabled" {
		return nil, fmt.Errorf("keyring: key %d is %s; only an enabled key can be promoted", id, k.Status)
	}
	return manage(jsonKeyset, func(m *keyset.Manager) error { return m.SetPrimary(id) })
}

// DisableKey disables key id: ciphertexts under it no longer decrypt. The
// primary cannot be disabled.
func DisableKey(jsonKeyset []byte, id uint32) ([]byte, error) {
	k, err := find(jsonKeyset, id)
	if err != nil {
		return nil, err
	}
	if k.Primary {
		return nil, fmt.Errorf("keyring: key %d is the primary; promote another key first", id)
	}
	return manage(jsonKeyset, func(m *keyset.Manager) error { return m.Disable(id) })
}

// KeyIDOf returns the id of the key a ciphertext was sealed with (Tink's
// 5-byte prefix: version 1, then the key id big-endian); false for a
// ciphertext without one.
func KeyIDOf(ciphertext []byte) (uint32, bool) {
	if len(ciphertext) < 5 || ciphertext[0] != 1 {
		return 0, false
	}
	return binary.BigEndian.Uint32(ciphertext[1:5]), true
}

// PrimaryID is the id of the key new ciphertexts are sealed with.
func (k *Keyring) PrimaryID() uint32 { return k.primary }

// ReplaceFile writes b over path atomically with mode 0600: a temporary
// file in the same folder is written, synced and renamed over path, so a
// reader sees the old keyset or the new one, never a part.
//
// A symlinked path is written through to the file it points to (the link
// stays a link): the temporary file is made beside the target, so the
// rename replaces the target, never the link.
func ReplaceFile(path string, b []byte) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(path)
		if err != nil {
			return fmt.Errorf("%s is a symbolic link whose target cannot be resolved; write the keyset to the file itself: %w", path, err)
		}
		path = target
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("keyring: write %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.Write(b); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keyring: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keyring: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

const sealedPage = 500

func eachSealed(ctx context.Context, set sealed.Set, f func(sealed.Row) error) error {
	after := ""
	for {
		rows, err := set.Scan(ctx, after, sealedPage)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := f(r); err != nil {
				return err
			}
		}
		if len(rows) < sealedPage {
			return ctx.Err()
		}
		after = rows[len(rows)-1].ID
	}
}

// CountByKey counts the ciphertexts of sets per key id.
func CountByKey(ctx context.Context, sets []sealed.Set) (map[uint32]int, error) {
	n := map[uint32]int{}
	for _, set := range sets {
		if err := eachSealed(ctx, set, func(r sealed.Row) error {
			if id, ok := KeyIDOf(r.Ciphertext); ok {
				n[id]++
			}
			return nil
		}); err != nil {
			return nil, fmt.Errorf("count %s: %w", set.Name, err)
		}
	}
	return n, nil
}

// ReencryptCount is what Reencrypt did to one set.
type ReencryptCount struct {
	Set         string `json:"set"`
	Checked     int    `json:"checked"`
	Reencrypted int    `json:"reencrypted"`
	// Changed counts rows rewritten by someone else meanwhile (already
	// under the primary: they are new writes).
	Changed int `json:"changed"`
	// Failed counts rows that do not decrypt with this keyset and their
	// associated data (a key disabled too early, a row moved, a corrupt
	// value): they are left as they are, and FailedIDs names the first
	// maxFailedIDs of them.
	Failed    int      `json:"failed"`
	FailedIDs []string `json:"failed_ids,omitempty"`
}

// maxFailedIDs bounds the ids a ReencryptCount names.
const maxFailedIDs = 100

// ErrNotReencrypted is Reencrypt's answer when some rows could not be
// re-encrypted: every other row was, and the counts say which failed.
var ErrNotReencrypted = errors.New("keyring: some rows do not decrypt with this keyset and were left as they are")

// Reencrypt seals every ciphertext of sets that is not under the primary
// key again under it. Rows are rewritten one at a time only if unchanged,
// so it is safe while servers write, and resumable: a second run finds
// nothing left. A row that does not decrypt is counted (Failed) and
// skipped, and the run goes on: the error is then ErrNotReencrypted, with
// every count. A failure to read or write the database stops the run.
// progress, when set, is told after every row.
func (k *Keyring) Reencrypt(ctx context.Context, sets []sealed.Set, progress func(set string, done int)) ([]ReencryptCount, error) {
	var out []ReencryptCount
	for _, set := range sets {
		c := ReencryptCount{Set: set.Name}
		err := eachSealed(ctx, set, func(r sealed.Row) error {
			c.Checked++
			if progress != nil {
				defer progress(set.Name, c.Checked)
			}
			if id, ok := KeyIDOf(r.Ciphertext); ok && id == k.primary {
				return nil
			}
			pt, err := k.Decrypt(r.Ciphertext, r.AD)
			if err != nil {
				c.Failed++
				if len(c.FailedIDs) < maxFailedIDs {
					c.FailedIDs = append(c.FailedIDs, r.ID)
				}
				return nil
			}
			next, err := k.Encrypt(pt, r.AD)
			if err != nil {
				return err
			}
			done, err := set.Replace(ctx, r.ID, r.Ciphertext, next)
			if err != nil {
				return err
			}
			if done {
				c.Reencrypted++
			} else {
				c.Changed++
			}
			return nil
		})
		out = append(out, c)
		if err != nil {
			return out, fmt.Errorf("re-encrypt %s: %w", set.Name, err)
		}
	}
	failed := 0
	for _, c := range out {
		failed += c.Failed
	}
	if failed > 0 {
		return out, fmt.Errorf("%w: %d rows (see failed_ids)", ErrNotReencrypted, failed)
	}
	return out, nil
}

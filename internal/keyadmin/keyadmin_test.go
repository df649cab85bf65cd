package keyadmin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault/internal/keyadmin"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/sealed"
)

// memDB is a database of one sealed set held in memory.
type memDB struct{ rows map[string][]byte }

func (m *memDB) Close() error { return nil }
func (m *memDB) Sets() []sealed.Set {
	return []sealed.Set{{Name: "rows",
		Scan: func(_ context.Context, after string, limit int) ([]sealed.Row, error) {
			var ids []string
			for id := range m.rows {
				if id > after {
					ids = append(ids, id)
				}
			}
			sort.Strings(ids)
			var out []sealed.Row
			for _, id := range ids {
				if len(out) < limit {
					out = append(out, sealed.Row{ID: id, Ciphertext: m.rows[id], AD: []byte(id)})
				}
			}
			return out, nil
		},
		Replace: func(_ context.Context, id string, prev, next []byte) (bool, error) {
			if !bytes.Equal(m.rows[id], prev) {
				return false, nil
			}
			m.rows[id] = next
			return true, nil
		}}}
}

type errUsage struct{ msg string }

func (e errUsage) Error() string { return e.msg }

// harness is a keyset file, a database of three rows sealed under it and
// the commands wired to them, printing JSON.
type harness struct {
	t      *testing.T
	path   string
	db     *memDB
	out    bytes.Buffer
	keyset []byte
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	b, err := keyring.Generate()
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, path: filepath.Join(t.TempDir(), "keyset.json"), db: &memDB{rows: map[string][]byte{}}, keyset: b}
	if err := os.WriteFile(h.path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	kr, _ := keyring.Parse(b)
	for _, id := range []string{"a", "b", "c"} {
		h.db.rows[id], _ = kr.Encrypt([]byte("secret-"+id), []byte(id))
	}
	return h
}

func (h *harness) run(args ...string) (map[string]any, error) {
	h.out.Reset()
	root := &cobra.Command{Use: "keys", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(keyadmin.Commands(keyadmin.Options{Program: "credvault", KeysetEnv: "CREDVAULT_TEST_UNSET_KEYSET_FILE",
		Open:   func(context.Context) (keyadmin.Database, error) { return h.db, nil },
		Print:  func(v any, _ func(io.Writer)) error { return json.NewEncoder(&h.out).Encode(v) },
		Stderr: io.Discard,
		Usage:  func(msg string) error { return errUsage{msg} }})...)
	root.SetArgs(args)
	err := root.Execute()
	var v map[string]any
	if h.out.Len() > 0 {
		if jerr := json.Unmarshal(h.out.Bytes(), &v); jerr != nil {
			h.t.Fatalf("output %q: %v", h.out.String(), jerr)
		}
	}
	return v, err
}

func (h *harness) mustRun(args ...string) map[string]any {
	h.t.Helper()
	v, err := h.run(args...)
	if err != nil {
		h.t.Fatalf("%v: %v", args, err)
	}
	return v
}

func keyIDs(v map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, k := range v["keys"].([]any) {
		m := k.(map[string]any)
		out[strconv.FormatFloat(m["key_id"].(float64), 'f', 0, 64)] = m
	}
	return out
}

// The four steps in order, each command checked on its own.
func TestTheKeyLifecycle(t *testing.T) {
	h := newHarness(t)
	listed := h.mustRun("list", "--keyset", h.path)
	if ks := keyIDs(listed); len(ks) != 1 {
		t.Fatalf("list: %v", listed)
	}
	var oldID string
	for id, k := range keyIDs(listed) {
		oldID = id
		if k["ciphertexts"].(float64) != 3 || k["primary"] != true {
			t.Fatalf("list: %v", k)
		}
	}

	added := h.mustRun("add", "--keyset", h.path)
	newID := strconv.FormatFloat(added["added"].(float64), 'f', 0, 64)
	if ks := keyIDs(added); len(ks) != 2 || ks[newID]["primary"] == true {
		t.Fatalf("add: %v", added)
	}

	if _, err := h.run("disable", oldID, "--keyset", h.path); err == nil || !strings.Contains(err.Error(), "still protects 3") {
		t.Fatalf("disable before reencrypt: %v", err)
	}
	if ks := keyIDs(h.mustRun("promote", newID, "--keyset", h.path)); ks[newID]["primary"] != true {
		t.Fatalf("promote: %v", ks)
	}
	re := h.mustRun("reencrypt", "--keyset", h.path)
	set := re["sets"].([]any)[0].(map[string]any)
	if set["checked"].(float64) != 3 || set["reencrypted"].(float64) != 3 || set["failed"].(float64) != 0 {
		t.Fatalf("reencrypt: %v", re)
	}
	if ks := keyIDs(h.mustRun("disable", oldID, "--keyset", h.path)); ks[oldID]["status"] != "disabled" {
		t.Fatalf("disable: %v", ks)
	}
}

// A row that does not decrypt is reported and the command fails, after
// re-encrypting every other row.
func TestReencryptReportsTheRowsItCouldNotRead(t *testing.T) {
	h := newHarness(t)
	h.db.rows["b"] = []byte("not a ciphertext")
	added := h.mustRun("add", "--keyset", h.path)
	newID := strconv.FormatFloat(added["added"].(float64), 'f', 0, 64)
	h.mustRun("promote", newID, "--keyset", h.path)
	re, err := h.run("reencrypt", "--keyset", h.path)
	if !errors.Is(err, keyring.ErrNotReencrypted) {
		t.Fatalf("err = %v, want ErrNotReencrypted", err)
	}
	set := re["sets"].([]any)[0].(map[string]any)
	if set["reencrypted"].(float64) != 2 || set["failed"].(float64) != 1 || set["failed_ids"].([]any)[0] != "b" {
		t.Fatalf("reencrypt: %v", re)
	}
}

// Command-line mistakes are usage errors naming what to pass.
func TestKeysUsageErrors(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"list"}, "no keyset file: set CREDVAULT_TEST_UNSET_KEYSET_FILE or pass --keyset FILE"},
		{[]string{"promote", "--keyset", h.path}, "takes one KEY_ID"},
		{[]string{"disable", "x1", "--keyset", h.path}, `KEY_ID must be a key id from ` + "`credvault keys list`" + `, got "x1"`},
	} {
		_, err := h.run(c.args...)
		var u errUsage
		if !errors.As(err, &u) || !strings.Contains(u.msg, c.want) {
			t.Errorf("%v: %v, want a usage error with %q", c.args, err, c.want)
		}
	}
	if _, err := h.run("list", "--keyset", filepath.Join(t.TempDir(), "missing.json")); err == nil ||
		!strings.Contains(err.Error(), "read keyset") {
		t.Errorf("a missing keyset file: %v", err)
	}
}

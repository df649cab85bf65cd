// Package keyadmin is the `keys` command of credvault and of the reference
// credential-service: the key lifecycle (add, promote, reencrypt,
// disable, list) on the keyset file a server uses, in Tink's safe order.
package keyadmin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/sealed"
)

// Options wire the command to its program.
type Options struct {
	// Program names the binary in help ("credvault").
	Program string
	// KeysetEnv is the variable naming the server's keyset file.
	KeysetEnv string
	// Generated, when set, is the keyset the server generated for its
	// embedded database ("" when there is none), used when KeysetEnv is
	// not set.
	Generated func() string
	// Open opens the server's database (it must not create one).
	Open func(ctx context.Context) (Database, error)
	// Print writes v as JSON, or with text in text format.
	Print func(v any, text func(w io.Writer)) error
	// Stderr receives progress.
	Stderr io.Writer
	// Usage marks an error as a wrong command line (exit 2).
	Usage func(msg string) error
}

// Database is a server's database as the keys commands see it: where it
// keeps ciphertexts under the keyset.
type Database interface {
	Sets() []sealed.Set
	Close() error
}

// Key is one key of the keyset as `keys list` shows it.
type Key struct {
	keyring.KeyInfo
	// Ciphertexts is how many stored ciphertexts this key protects.
	Ciphertexts int `json:"ciphertexts"`
}

// Commands returns the lifecycle subcommands, to add to a `keys` command.
func Commands(o Options) []*cobra.Command {
	k := &keys{o: o}
	cmds := []*cobra.Command{k.listCommand(), k.addCommand(), k.promoteCommand(), k.reencryptCommand(), k.disableCommand()}
	for _, c := range cmds {
		c.Flags().StringVar(&k.keysetFlag, "keyset", "", "the keyset file (default: $"+o.KeysetEnv+"); rewritten in place, atomically, mode 0600")
	}
	return cmds
}

// keys runs the lifecycle commands: one method per command, beside its
// cobra definition.
type keys struct {
	o          Options
	keysetFlag string
}

func (k *keys) listCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "list",
		Example: fmt.Sprintf("  %[1]s keys list\n  %[1]s keys list --keyset /etc/%[1]s/keyset.json", k.o.Program),
		Short:   "List the keyset's keys: id, status, primary, and how many stored ciphertexts each protects",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return k.List(cmd.Context()) },
	}
}

// List prints the keyset's keys and how many ciphertexts each protects.
func (k *keys) List(ctx context.Context) error {
	path, b, err := k.load()
	if err != nil {
		return err
	}
	ks, err := k.keys(ctx, b)
	if err != nil {
		return err
	}
	return k.printKeys(path, ks, nil)
}

func (k *keys) addCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "add",
		Example: fmt.Sprintf("  %[1]s keys add --keyset /etc/%[1]s/keyset.json", k.o.Program),
		Short:   "Step 1: add a new key, enabled but not primary (then deploy the keyset to every instance)",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return k.Add(cmd.Context()) },
	}
}

// Add adds a new key, enabled and not primary.
func (k *keys) Add(ctx context.Context) error {
	var id uint32
	return k.rewrite(ctx, func(b []byte) ([]byte, error) {
		nb, nid, err := keyring.AddKey(b)
		id = nid
		return nb, err
	}, func() map[string]any { return map[string]any{"added": id} })
}

func (k *keys) promoteCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "promote KEY_ID",
		Example: fmt.Sprintf("  %[1]s keys promote 2207431571", k.o.Program),
		Short:   "Step 2: make KEY_ID the primary (only once every instance has the keyset holding it)",
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := k.keyArg(args)
			if err != nil {
				return err
			}
			return k.Promote(cmd.Context(), id)
		},
	}
}

// Promote makes key id the primary.
func (k *keys) Promote(ctx context.Context, id uint32) error {
	return k.rewrite(ctx, func(b []byte) ([]byte, error) { return keyring.Promote(b, id) },
		func() map[string]any { return map[string]any{"promoted": id} })
}

func (k *keys) reencryptCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "reencrypt",
		Example: fmt.Sprintf("  %[1]s keys reencrypt", k.o.Program),
		Short:   "Step 3: re-encrypt every stored ciphertext under the primary key (resumable; safe while servers run)",
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return k.Reencrypt(cmd.Context()) },
	}
}

// Reencrypt seals every stored ciphertext under the primary key. Rows that
// do not decrypt are reported and skipped; the report is printed either
// way, and the error then is keyring.ErrNotReencrypted (exit 1).
func (k *keys) Reencrypt(ctx context.Context) error {
	path, b, err := k.load()
	if err != nil {
		return err
	}
	kr, err := keyring.Parse(b)
	if err != nil {
		return err
	}
	db, err := k.o.Open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	last := time.Time{}
	res, err := kr.Reencrypt(ctx, db.Sets(), func(set string, done int) {
		if time.Since(last) > time.Second {
			last = time.Now()
			fmt.Fprintf(k.o.Stderr, "re-encrypting %s: %d checked\n", set, done)
		}
	})
	if err != nil && !errors.Is(err, keyring.ErrNotReencrypted) {
		return err
	}
	if perr := k.o.Print(map[string]any{"keyset": path, "primary": kr.PrimaryID(), "sets": res}, func(w io.Writer) {
		fmt.Fprintf(w, "primary\t%d\nSET\tCHECKED\tRE-ENCRYPTED\tCHANGED MEANWHILE\tFAILED\n", kr.PrimaryID())
		for _, r := range res {
			fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\n", r.Set, r.Checked, r.Reencrypted, r.Changed, r.Failed)
		}
		for _, r := range res {
			if r.Failed > 0 {
				fmt.Fprintf(w, "not re-encrypted in %s: %s\n", r.Set, strings.Join(r.FailedIDs, " "))
			}
		}
	}); perr != nil {
		return perr
	}
	return err
}

func (k *keys) disableCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "disable KEY_ID",
		Example: fmt.Sprintf("  %[1]s keys disable 1634871226", k.o.Program),
		Short:   "Step 4: disable KEY_ID; refused while any stored ciphertext still needs it",
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := k.keyArg(args)
			if err != nil {
				return err
			}
			return k.Disable(cmd.Context(), id)
		},
	}
}

// Disable disables key id, refused while a stored ciphertext needs it.
func (k *keys) Disable(ctx context.Context, id uint32) error {
	n, err := k.counts(ctx)
	if err != nil {
		return err
	}
	if n[id] > 0 {
		return fmt.Errorf("key %d still protects %d stored ciphertext(s): run `%s keys reencrypt` first", id, n[id], k.o.Program)
	}
	return k.rewrite(ctx, func(b []byte) ([]byte, error) { return keyring.DisableKey(b, id) },
		func() map[string]any { return map[string]any{"disabled": id} })
}

// file is the keyset file: --keyset, else the server's variable, else
// the one the server generated.
func (k *keys) file() (string, error) {
	if k.keysetFlag != "" {
		return k.keysetFlag, nil
	}
	if f := os.Getenv(k.o.KeysetEnv); f != "" {
		return f, nil
	}
	if k.o.Generated != nil {
		if f := k.o.Generated(); f != "" {
			return f, nil
		}
	}
	return "", k.o.Usage(fmt.Sprintf("no keyset file: set %s or pass --keyset FILE", k.o.KeysetEnv))
}

func (k *keys) load() (string, []byte, error) {
	path, err := k.file()
	if err != nil {
		return "", nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", nil, fmt.Errorf("read keyset %s: %w", path, errors.Unwrap(err))
	}
	return path, b, nil
}

func (k *keys) keyArg(args []string) (uint32, error) {
	if len(args) != 1 {
		return 0, k.o.Usage("takes one KEY_ID (see `" + k.o.Program + " keys list`)")
	}
	n, err := strconv.ParseUint(args[0], 10, 32)
	if err != nil {
		return 0, k.o.Usage(fmt.Sprintf("KEY_ID must be a key id from `%s keys list`, got %q", k.o.Program, args[0]))
	}
	return uint32(n), nil
}

// counts is how many stored ciphertexts each key protects.
func (k *keys) counts(ctx context.Context) (map[uint32]int, error) {
	db, err := k.o.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return keyring.CountByKey(ctx, db.Sets())
}

// keys lists keyset b's keys with their counts.
func (k *keys) keys(ctx context.Context, b []byte) ([]Key, error) {
	infos, err := keyring.Keys(b)
	if err != nil {
		return nil, err
	}
	n, err := k.counts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Key, len(infos))
	for i, info := range infos {
		out[i] = Key{KeyInfo: info, Ciphertexts: n[info.ID]}
	}
	return out, nil
}

func (k *keys) printKeys(path string, ks []Key, extra map[string]any) error {
	v := map[string]any{"keyset": path, "keys": ks}
	for name, x := range extra {
		v[name] = x
	}
	return k.o.Print(v, func(w io.Writer) {
		for name, x := range extra {
			fmt.Fprintf(w, "%s\t%v\n", name, x)
		}
		fmt.Fprintln(w, "KEY ID\tSTATUS\tPRIMARY\tCIPHERTEXTS")
		for _, key := range ks {
			fmt.Fprintf(w, "%d\t%s\t%v\t%d\n", key.ID, key.Status, key.Primary, key.Ciphertexts)
		}
	})
}

// rewrite changes the keyset file atomically and prints its keys.
func (k *keys) rewrite(ctx context.Context, change func([]byte) ([]byte, error), extra func() map[string]any) error {
	path, b, err := k.load()
	if err != nil {
		return err
	}
	nb, err := change(b)
	if err != nil {
		return err
	}
	if err := keyring.ReplaceFile(path, nb); err != nil {
		return err
	}
	ks, err := k.keys(ctx, nb)
	if err != nil {
		return err
	}
	return k.printKeys(path, ks, extra())
}

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
	var keysetFlag string
	file := func() (string, error) {
		if keysetFlag != "" {
			return keysetFlag, nil
		}
		if f := os.Getenv(o.KeysetEnv); f != "" {
			return f, nil
		}
		if o.Generated != nil {
			if f := o.Generated(); f != "" {
				return f, nil
			}
		}
		return "", o.Usage(fmt.Sprintf("no keyset file: set %s or pass --keyset FILE", o.KeysetEnv))
	}
	load := func() (string, []byte, error) {
		path, err := file()
		if err != nil {
			return "", nil, err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", nil, fmt.Errorf("read keyset %s: %w", path, errors.Unwrap(err))
		}
		return path, b, nil
	}
	keyArg := func(args []string) (uint32, error) {
		if len(args) != 1 {
			return 0, o.Usage("takes one KEY_ID (see `" + o.Program + " keys list`)")
		}
		n, err := strconv.ParseUint(args[0], 10, 32)
		if err != nil {
			return 0, o.Usage(fmt.Sprintf("KEY_ID must be a key id from `%s keys list`, got %q", o.Program, args[0]))
		}
		return uint32(n), nil
	}
	counts := func(ctx context.Context) (map[uint32]int, error) {
		db, err := o.Open(ctx)
		if err != nil {
			return nil, err
		}
		defer db.Close()
		return keyring.CountByKey(ctx, db.Sets())
	}
	list := func(ctx context.Context, b []byte) ([]Key, error) {
		infos, err := keyring.Keys(b)
		if err != nil {
			return nil, err
		}
		n, err := counts(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]Key, len(infos))
		for i, k := range infos {
			out[i] = Key{KeyInfo: k, Ciphertexts: n[k.ID]}
		}
		return out, nil
	}
	printKeys := func(path string, keys []Key, extra map[string]any) error {
		v := map[string]any{"keyset": path, "keys": keys}
		for k, x := range extra {
			v[k] = x
		}
		return o.Print(v, func(w io.Writer) {
			for k, x := range extra {
				fmt.Fprintf(w, "%s\t%v\n", k, x)
			}
			fmt.Fprintln(w, "KEY ID\tSTATUS\tPRIMARY\tCIPHERTEXTS")
			for _, k := range keys {
				fmt.Fprintf(w, "%d\t%s\t%v\t%d\n", k.ID, k.Status, k.Primary, k.Ciphertexts)
			}
		})
	}
	rewrite := func(ctx context.Context, change func([]byte) ([]byte, error), extra func() map[string]any) error {
		path, b, err := load()
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
		keys, err := list(ctx, nb)
		if err != nil {
			return err
		}
		return printKeys(path, keys, extra())
	}

	listC := &cobra.Command{
		Use:     "list",
		Example: fmt.Sprintf("  %[1]s keys list\n  %[1]s keys list --keyset /etc/%[1]s/keyset.json", o.Program),
		Short:   "List the keyset's keys: id, status, primary, and how many stored ciphertexts each protects",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			path, b, err := load()
			if err != nil {
				return err
			}
			keys, err := list(cmd.Context(), b)
			if err != nil {
				return err
			}
			return printKeys(path, keys, nil)
		},
	}
	add := &cobra.Command{
		Use:     "add",
		Example: fmt.Sprintf("  %[1]s keys add --keyset /etc/%[1]s/keyset.json", o.Program),
		Short:   "Step 1: add a new key, enabled but not primary (then deploy the keyset to every instance)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var id uint32
			return rewrite(cmd.Context(), func(b []byte) ([]byte, error) {
				nb, nid, err := keyring.AddKey(b)
				id = nid
				return nb, err
			}, func() map[string]any { return map[string]any{"added": id} })
		},
	}
	promote := &cobra.Command{
		Use:     "promote KEY_ID",
		Example: fmt.Sprintf("  %[1]s keys promote 2207431571", o.Program),
		Short:   "Step 2: make KEY_ID the primary (only once every instance has the keyset holding it)",
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := keyArg(args)
			if err != nil {
				return err
			}
			return rewrite(cmd.Context(), func(b []byte) ([]byte, error) { return keyring.Promote(b, id) },
				func() map[string]any { return map[string]any{"promoted": id} })
		},
	}
	reencrypt := &cobra.Command{
		Use:     "reencrypt",
		Example: fmt.Sprintf("  %[1]s keys reencrypt", o.Program),
		Short:   "Step 3: re-encrypt every stored ciphertext under the primary key (resumable; safe while servers run)",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			path, b, err := load()
			if err != nil {
				return err
			}
			kr, err := keyring.Parse(b)
			if err != nil {
				return err
			}
			db, err := o.Open(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			last := time.Time{}
			res, err := kr.Reencrypt(ctx, db.Sets(), func(set string, done int) {
				if time.Since(last) > time.Second {
					last = time.Now()
					fmt.Fprintf(o.Stderr, "re-encrypting %s: %d checked\n", set, done)
				}
			})
			if err != nil {
				return err
			}
			return o.Print(map[string]any{"keyset": path, "primary": kr.PrimaryID(), "sets": res}, func(w io.Writer) {
				fmt.Fprintf(w, "primary\t%d\nSET\tCHECKED\tRE-ENCRYPTED\tCHANGED MEANWHILE\n", kr.PrimaryID())
				for _, r := range res {
					fmt.Fprintf(w, "%s\t%d\t%d\t%d\n", r.Set, r.Checked, r.Reencrypted, r.Changed)
				}
			})
		},
	}
	disable := &cobra.Command{
		Use:     "disable KEY_ID",
		Example: fmt.Sprintf("  %[1]s keys disable 1634871226", o.Program),
		Short:   "Step 4: disable KEY_ID; refused while any stored ciphertext still needs it",
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := keyArg(args)
			if err != nil {
				return err
			}
			n, err := counts(cmd.Context())
			if err != nil {
				return err
			}
			if n[id] > 0 {
				return fmt.Errorf("key %d still protects %d stored ciphertext(s): run `%s keys reencrypt` first", id, n[id], o.Program)
			}
			return rewrite(cmd.Context(), func(b []byte) ([]byte, error) { return keyring.DisableKey(b, id) },
				func() map[string]any { return map[string]any{"disabled": id} })
		},
	}
	cmds := []*cobra.Command{listC, add, promote, reencrypt, disable}
	for _, c := range cmds {
		c.Flags().StringVar(&keysetFlag, "keyset", "", "the keyset file (default: $"+o.KeysetEnv+"); rewritten in place, atomically, mode 0600")
	}
	return cmds
}

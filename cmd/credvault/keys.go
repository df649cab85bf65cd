package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/keyadmin"
	"github.com/credvault/credvault/internal/keyring"
)

func keysCmd(out output, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Create a Tink keyset and rotate its keys without downtime", Args: noArgs, Example: "  credvault keys init --out /etc/credvault/keyset.json\n  credvault keys list",
		Long: "Rotation, in Tink's safe order (each step rewrites the keyset file in place, atomically, mode 0600):\n" +
			"  1. credvault keys add              a new key that decrypts but does not yet encrypt\n" +
			"     deploy the keyset to every instance (restart them)\n" +
			"  2. credvault keys promote KEY_ID   new ciphertexts use it; deploy again\n" +
			"  3. credvault keys reencrypt        every stored ciphertext under the primary\n" +
			"  4. credvault keys disable OLD_ID   refused while a stored ciphertext still needs it\n" +
			"The keyset is CREDVAULT_KEYSET_FILE (or --keyset FILE); the database is the server's.",
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var initOut string
	initC := &cobra.Command{
		Use:     "init",
		Short:   "Write a new Tink AEAD keyset (AES-256-GCM) with mode 0600; never overwrites",
		Example: "  credvault keys init --out /etc/credvault/keyset.json",
		Args:    noArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := keyring.WriteNewFile(initOut); err != nil {
				return err
			}
			return out.print(map[string]string{"keyset": initOut, "mode": "0600"},
				func(w io.Writer) { fmt.Fprintf(w, "wrote keyset to %s (mode 0600)\n", initOut) })
		},
	}
	initC.Flags().StringVar(&initOut, "out", "", "file to write (must not exist)")
	_ = initC.MarkFlagRequired("out")
	cmd.AddCommand(initC)
	cmd.AddCommand(keyadmin.Commands(keyadmin.Options{
		Program:   "credvault",
		KeysetEnv: config.EnvKeysetFile,
		Generated: func() string {
			cfg, err := config.FromEnv()
			if err != nil || !cfg.Embedded() || cfg.Keyset != "" {
				return ""
			}
			if p := cfg.GeneratedKeysetPath(); fileExists(p) {
				return p
			}
			return ""
		},
		Open: func(ctx context.Context) (keyadmin.Database, error) {
			cfg, err := config.FromEnv()
			if err != nil {
				return nil, err
			}
			return credvault.OpenAdmin(ctx, cfg, credvault.AdminOptions{})
		},
		Print:  out.print,
		Stderr: stderr,
		Usage:  func(msg string) error { return usageError{msg} },
	})...)
	return cmd
}

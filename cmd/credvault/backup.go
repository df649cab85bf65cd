package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
)

func backupCmd(out output) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "backup --out FILE",
		Short: "Copy the embedded database consistently, while the server runs",
		Long: "backup writes a consistent copy of the embedded SQLite database (every commit up to its start, the\n" +
			"write-ahead log's included) to a new file, while `credvault serve` keeps running. Copying credvault.db\n" +
			"by hand is not a backup: in WAL mode the latest commits live in credvault.db-wal. The copy holds\n" +
			"ciphertexts only; restoring it needs the same keyset (back up keyset.json, or your CREDVAULT_KEYSET_FILE,\n" +
			"apart). PostgreSQL is backed up with its own tools (pg_dump); see docs/OPERATIONS.md.",
		Example: "  credvault backup --out /backups/credvault-$(date +%F).db",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return usageError{"--out FILE is required"}
			}
			ctx := cmd.Context()
			cfg, err := config.FromEnv()
			if err != nil {
				return err
			}
			a, err := credvault.OpenAdmin(ctx, cfg, credvault.AdminOptions{})
			if err != nil {
				return err
			}
			defer a.Close()
			if err := a.Backup(ctx, file); err != nil {
				return err
			}
			return out.print(map[string]any{"backup": file}, func(w io.Writer) { fmt.Fprintf(w, "backed up to %s\n", file) })
		},
	}
	cmd.Flags().StringVar(&file, "out", "", "the new file to write the copy to")
	return cmd
}

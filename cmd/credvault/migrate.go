package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
)

func migrateCmd(out output) *cobra.Command {
	return &cobra.Command{
		Use:     "migrate",
		Short:   "Apply database migrations (idempotent)",
		Example: "  DATABASE_URL=postgres://... credvault migrate",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfg, err := config.FromEnv()
			if err != nil {
				return err
			}
			a, err := credvault.OpenAdmin(ctx, cfg, credvault.AdminOptions{Create: true})
			if err != nil {
				return err
			}
			defer a.Close()
			n, cur, err := a.Migrate(ctx)
			if err != nil {
				return err
			}
			res := map[string]any{"applied": n, "schema_version": cur}
			return out.print(res, func(w io.Writer) { fmt.Fprintf(w, "applied %d migration(s); schema version %d\n", n, cur) })
		},
	}
}

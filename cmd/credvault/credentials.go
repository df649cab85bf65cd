package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/credentials"
)

func credentialsCmd(out output, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "credentials", Short: "Operate on organizations' credentials", Args: noArgs, Example: "  credvault credentials migrate --org org_0190... --dry-run",
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var orgID string
	var o credentials.MigrateOptions
	migrate := &cobra.Command{
		Use:   "migrate",
		Short: "Move an organization's credentials from earlier configurations to its current service",
		Long: "Every credential stored by an earlier configuration (or the env-configured service) is read through\n" +
			"that configuration, created in the current service, re-pointed in its own transaction, and its old\n" +
			"item deleted through the outbox. Resumable and idempotent: run it again after an interruption. A\n" +
			"credential that cannot be moved is listed under \"failed\" and left as it was (exit 1).",
		Example: "  credvault credentials migrate --org org_0190... --dry-run\n  credvault credentials migrate --org org_0190...",
		Args:    noArgs,
		RunE: withPlatform(stderr, func(ctx context.Context, p *credvault.Platform) error {
			if err := p.Organizations.Exists(ctx, orgID); err != nil {
				return err
			}
			progress, done := progressBar(stderr, "credentials moved")
			// The operator's command line moves from every storing
			// configuration; over REST an API key moves only from
			// configurations whose URL and token it sends.
			o.Progress, o.AllSources = progress, true
			rep, err := p.Maintenance.Migrate(ctx, orgID, o)
			done()
			if err != nil {
				return err
			}
			if err := out.print(rep, func(w io.Writer) {
				fmt.Fprintf(w, "organization\t%s\ncurrent\t%s\ndry run\t%v\nto move\t%d\nmigrated\t%d\nfailed\t%d\nremaining\t%d\n",
					rep.OrganizationID, rep.Current, rep.DryRun, rep.ToMove, rep.Migrated, len(rep.Failed), rep.Remaining)
				for _, src := range slices.Sorted(maps.Keys(rep.BySource)) {
					fmt.Fprintf(w, "  by source\t%s\t%d\n", src, rep.BySource[src])
				}
				for _, f := range rep.Failed {
					fmt.Fprintf(w, "  %s\t%s\t%s\n", f.CredentialID, f.StoredBy, f.Error)
				}
			}); err != nil {
				return err
			}
			if len(rep.Failed) > 0 {
				return checkFailed{}
			}
			return nil
		}),
	}
	migrate.Flags().StringVar(&orgID, "org", "", "organization id")
	migrate.Flags().BoolVar(&o.DryRun, "dry-run", false, "count what would move; move nothing")
	_ = migrate.MarkFlagRequired("org")
	cmd.AddCommand(migrate)
	return cmd
}

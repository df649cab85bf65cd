package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/store"
)

func auditCmd(out output, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Show audit events", Args: noArgs, Example: "  credvault audit list --org org_0190...",
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var orgID string
	var f store.AuditFilter
	var since time.Duration
	list := &cobra.Command{
		Use:   "list",
		Short: "List an organization's audit events, newest first (who changed what, when; never a secret)",
		Example: "  credvault audit list --org org_0190... --format text\n  credvault audit list --org org_0190... --since 24h --limit 50\n" +
			"  credvault audit list --org org_0190... --action credential.totp_code --key key_0190...",
		Args: noArgs,
		RunE: withPlatform(stderr, func(ctx context.Context, p *credvault.Platform) error {
			if f.Limit < 0 {
				return usageError{"--limit must be 0 (all) or more"}
			}
			if since > 0 {
				f.Since = time.Now().Add(-since)
			}
			es, err := p.Organizations.Audit(ctx, orgID, f)
			if err != nil {
				return err
			}
			return out.print(es, func(w io.Writer) {
				fmt.Fprintln(w, "TIME\tACTION\tACTOR KEY\tROLE\tTARGET\tREQUEST")
				for _, e := range es {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", e.CreatedAt.Format(time.RFC3339), e.Action, e.ActorKeyID, e.ActorRole, e.TargetID, e.RequestID)
				}
			})
		}),
	}
	list.Flags().StringVar(&orgID, "org", "", "organization id")
	list.Flags().IntVar(&f.Limit, "limit", 0, "at most this many events (0: all)")
	list.Flags().DurationVar(&since, "since", 0, "only events of the last DURATION (such as 24h)")
	list.Flags().StringVar(&f.Action, "action", "", "only events of this action (such as credential.totp_code or authorization.denied)")
	list.Flags().StringVar(&f.ActorKeyID, "key", "", "only events of this API key id")
	_ = list.MarkFlagRequired("org")
	cmd.AddCommand(list)
	return cmd
}

package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
)

func auditCmd(out output, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Show audit events", Args: noArgs, Example: "  credvault audit list --org org_0190...",
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var orgID string
	list := &cobra.Command{
		Use:     "list",
		Short:   "List an organization's audit events (who changed its configuration, when; never a secret)",
		Example: "  credvault audit list --org org_0190... --format text",
		Args:    noArgs,
		RunE: withPlatform(stderr, func(ctx context.Context, p *credvault.Platform) error {
			es, err := p.Organizations.Audit(ctx, orgID)
			if err != nil {
				return err
			}
			return out.print(es, func(w io.Writer) {
				fmt.Fprintln(w, "TIME\tACTION\tACTOR KEY\tTARGET")
				for _, e := range es {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.CreatedAt.Format(time.RFC3339), e.Action, e.ActorKeyID, e.TargetID)
				}
			})
		}),
	}
	list.Flags().StringVar(&orgID, "org", "", "organization id")
	_ = list.MarkFlagRequired("org")
	cmd.AddCommand(list)
	return cmd
}

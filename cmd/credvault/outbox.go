package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
)

func outboxCmd(out output, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "outbox", Short: "Show vault item deletions waiting to be confirmed", Args: noArgs, Example: "  credvault outbox list --format text",
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var limit int
	list := &cobra.Command{
		Use:   "list",
		Short: "List pending vault item deletions (ids, attempts, next attempt, last error; no secrets)",
		Long: "Items that must be deleted from customers' services (a compensation, an update's replaced item) are\n" +
			"recorded first and retried with backoff until the service confirms; this lists those still pending.",
		Example: "  credvault outbox list --format text",
		Args:    noArgs,
		RunE: withPlatform(stderr, func(ctx context.Context, p *credvault.Platform) error {
			rows, err := p.Outbox.Pending(ctx, limit)
			if err != nil {
				return err
			}
			return out.print(rows, func(w io.Writer) {
				fmt.Fprintln(w, "CREATED\tORGANIZATION\tITEM\tSTORED BY\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR")
				for _, r := range rows {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.CreatedAt.Format(time.RFC3339), r.OrganizationID, r.ItemID,
						r.StoredBy, r.Attempts, r.NextAttemptAt.Format(time.RFC3339), r.LastError)
				}
			})
		}),
	}
	list.Flags().IntVar(&limit, "limit", 100, "at most this many")
	cmd.AddCommand(list)
	return cmd
}

package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
)

func orgCmd(out output, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Manage organizations and their API keys", Args: noArgs, Example: "  credvault org create --name Acme\n  credvault org list",
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	var name, orgID, keyID string
	withPlatform := func(f func(context.Context, *credvault.Platform) error) func(*cobra.Command, []string) error {
		return withPlatform(stderr, f)
	}
	create := &cobra.Command{
		Use:     "create",
		Short:   "Create an organization; prints its API key once",
		Example: "  credvault org create --name Acme",
		Args:    noArgs,
		RunE: withPlatform(func(ctx context.Context, p *credvault.Platform) error {
			c, err := p.Organizations.Create(ctx, name)
			if err != nil {
				return err
			}
			return out.print(c, func(w io.Writer) {
				fmt.Fprintf(w, "organization\t%s\nname\t%s\napi key id\t%s\napi key\t%s\t(shown once)\n", c.OrganizationID, c.Name, c.APIKeyID, c.APIKey)
			})
		}),
	}
	create.Flags().StringVar(&name, "name", "", "organization name")
	_ = create.MarkFlagRequired("name")

	list := &cobra.Command{
		Use:     "list",
		Example: "  credvault org list\n  credvault org list --format text",
		Short:   "List organizations",
		Args:    noArgs,
		RunE: withPlatform(func(ctx context.Context, p *credvault.Platform) error {
			orgs, err := p.Organizations.List(ctx)
			if err != nil {
				return err
			}
			return out.print(orgs, func(w io.Writer) {
				fmt.Fprintln(w, "ORGANIZATION\tNAME\tCREATED")
				for _, o := range orgs {
					fmt.Fprintf(w, "%s\t%s\t%s\n", o.OrganizationID, o.Name, o.CreatedAt.Format(time.RFC3339))
				}
			})
		}),
	}

	keys := &cobra.Command{
		Use:     "keys",
		Short:   "List an organization's API keys (ids, created, last used, revoked; never the keys)",
		Example: "  credvault org keys --org org_0190...",
		Args:    noArgs,
		RunE: withPlatform(func(ctx context.Context, p *credvault.Platform) error {
			ks, err := p.Organizations.Keys(ctx, orgID)
			if err != nil {
				return err
			}
			return out.print(ks, func(w io.Writer) {
				fmt.Fprintln(w, "KEY ID\tCREATED\tLAST USED\tREVOKED")
				for _, k := range ks {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", k.APIKeyID, k.CreatedAt.Format(time.RFC3339), when(k.LastUsedAt), when(k.RevokedAt))
				}
			})
		}),
	}
	keys.Flags().StringVar(&orgID, "org", "", "organization id")
	_ = keys.MarkFlagRequired("org")

	addKey := &cobra.Command{
		Use:     "add-key",
		Short:   "Add another API key to an organization (for rotation); prints it once",
		Example: "  credvault org add-key --org org_0190...",
		Args:    noArgs,
		RunE: withPlatform(func(ctx context.Context, p *credvault.Platform) error {
			key, id, err := p.Organizations.AddKey(ctx, orgID)
			if err != nil {
				return err
			}
			res := map[string]string{"organization_id": orgID, "api_key_id": id, "api_key": key}
			return out.print(res, func(w io.Writer) { fmt.Fprintf(w, "api key id\t%s\napi key\t%s\t(shown once)\n", id, key) })
		}),
	}
	addKey.Flags().StringVar(&orgID, "org", "", "organization id")
	_ = addKey.MarkFlagRequired("org")

	revoke := &cobra.Command{
		Use:     "revoke-key",
		Short:   "Revoke an API key: requests with it get 401 (on every replica within a second)",
		Example: "  credvault org revoke-key --org org_0190... --key key_0190...",
		Args:    noArgs,
		RunE: withPlatform(func(ctx context.Context, p *credvault.Platform) error {
			if err := p.Organizations.RevokeKey(ctx, orgID, keyID); err != nil {
				return err
			}
			res := map[string]any{"organization_id": orgID, "api_key_id": keyID, "revoked": true}
			return out.print(res, func(w io.Writer) { fmt.Fprintf(w, "revoked %s\n", keyID) })
		}),
	}
	revoke.Flags().StringVar(&orgID, "org", "", "organization id")
	revoke.Flags().StringVar(&keyID, "key", "", "API key id")
	_ = revoke.MarkFlagRequired("org")
	_ = revoke.MarkFlagRequired("key")
	cmd.AddCommand(create, list, keys, addKey, revoke)
	return cmd
}

package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/org"
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
		Short:   "List an organization's API keys (ids, roles, names, created, last used, expiry, revoked; never the keys)",
		Example: "  credvault org keys --org org_0190...",
		Args:    noArgs,
		RunE: withPlatform(func(ctx context.Context, p *credvault.Platform) error {
			ks, err := p.Organizations.Keys(ctx, orgID)
			if err != nil {
				return err
			}
			return out.print(ks, func(w io.Writer) {
				fmt.Fprintln(w, "KEY ID\tROLE\tNAME\tCREATED\tLAST USED\tEXPIRES\tREVOKED")
				for _, k := range ks {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.APIKeyID, k.Role, k.Name, k.CreatedAt.Format(time.RFC3339), when(k.LastUsedAt),
						when(k.ExpiresAt), when(k.RevokedAt))
				}
			})
		}),
	}
	keys.Flags().StringVar(&orgID, "org", "", "organization id")
	_ = keys.MarkFlagRequired("org")

	var role, keyName string
	var expires time.Duration
	addKey := &cobra.Command{
		Use:   "add-key",
		Short: "Add an API key to an organization (for rotation, or a run's read-only key); prints it once",
		Long: "Add an API key to an organization. --role says what it may do: admin (everything: the service configuration, " +
			"migrations, keys, the audit trail), member (credentials, folders and pushed codes: read and write) or agent " +
			"(read what an automation run needs: credentials, TOTP codes, pushed codes). --expires makes it stop working after that long.",
		Example: "  credvault org add-key --org org_0190...\n  credvault org add-key --org org_0190... --role agent --name nightly-run --expires 720h",
		Args:    noArgs,
		RunE: withPlatform(func(ctx context.Context, p *credvault.Platform) error {
			r, err := org.ParseRole(role)
			if err != nil {
				return usageError{fmt.Sprintf("--role must be admin, member or agent, got %q", role)}
			}
			if expires < 0 {
				return usageError{"--expires must be a positive duration such as 720h"}
			}
			k, err := p.Organizations.AddKey(ctx, orgID, org.KeyOptions{Role: r, Name: keyName, Expires: expires})
			if err != nil {
				return err
			}
			res := map[string]any{"organization_id": orgID, "api_key_id": k.APIKeyID, "api_key": k.APIKey, "role": k.Role,
				"name": k.Name, "expires_at": k.ExpiresAt}
			return out.print(res, func(w io.Writer) {
				fmt.Fprintf(w, "api key id\t%s\napi key\t%s\t(shown once)\nrole\t%s\nexpires\t%s\n", k.APIKeyID, k.APIKey, k.Role, when(k.ExpiresAt))
			})
		}),
	}
	addKey.Flags().StringVar(&orgID, "org", "", "organization id")
	addKey.Flags().StringVar(&role, "role", "admin", "what the key may do: admin, member or agent")
	addKey.Flags().StringVar(&keyName, "name", "", "what the key is for (shown by `org keys`)")
	addKey.Flags().DurationVar(&expires, "expires", 0, "stop working after this long, such as 720h (default: until revoked)")
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

// Command credvault runs the credvault server and its administration
// commands. Run `credvault --help` for the list; every command has --help.
//
// The command tree is built on cobra (github.com/spf13/cobra): the most
// widely used Go CLI library, well kept, with help for every command and
// subcommand, usage errors and shell completion out of the box.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/conformance"
	"github.com/credvault/credvault/internal/keyadmin"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/serve"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/netpolicy"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a failed operation or check
	exitUsage  = 2 // the command line is wrong
)

// usageError marks a wrong command line (exit 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// checkFailed is a check that ran and failed (exit 1, report printed).
type checkFailed struct{}

func (checkFailed) Error() string { return "" }

// run executes one command line and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	root.SetContext(ctx)
	err := root.Execute()
	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &checkFailed{}):
		return exitFailed
	case errors.As(err, &ue) || isCobraUsage(err):
		fmt.Fprintf(stderr, "credvault: %v\nRun 'credvault --help' for usage.\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "credvault: %v\n", err)
	return exitFailed
}

// isCobraUsage recognises cobra's own command-line errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "required flag", "flag needs an argument",
		"invalid argument", "accepts ", "requires "} {
		if strings.HasPrefix(msg, p) || strings.Contains(msg, " "+p) {
			return true
		}
	}
	return false
}

// output prints v as JSON, or with text() when --format text.
type output struct {
	w      io.Writer
	format *string
}

func (o output) print(v any, text func(w io.Writer)) error {
	if *o.format == "text" {
		tw := tabwriter.NewWriter(o.w, 0, 4, 2, ' ', 0)
		text(tw)
		return tw.Flush()
	}
	enc := json.NewEncoder(o.w)
	return enc.Encode(v)
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	var format string
	out := output{w: stdout, format: &format}
	root := &cobra.Command{
		Use:   "credvault",
		Short: "Credential vault for browser automation",
		Long: "credvault keeps the metadata of an organization's credentials and their secrets in the organization's\n" +
			"own custom credential service. Configuration comes from the environment (see README.md).",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if format != "json" && format != "text" {
				return usageError{"--format must be json or text"}
			}
			return nil
		},
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err.Error()} })
	root.PersistentFlags().StringVar(&format, "format", "json", "output format: json or text")
	root.AddCommand(serveCmd(stderr), migrateCmd(out), keysCmd(out, stderr), orgCmd(out, stderr), auditCmd(out, stderr), outboxCmd(out, stderr),
		reconcileCmd(out, stderr), credentialsCmd(out, stderr), checkServiceCmd(stdout), versionCmd(out))
	return root
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Sprintf("%s takes no arguments (got %q)", cmd.CommandPath(), args[0])}
	}
	return nil
}

func serveCmd(stderr io.Writer) *cobra.Command {
	var noMigrate bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the server (applies migrations first)",
		Long: "Run the credvault server on CREDVAULT_ADDR (default 127.0.0.1:8000). Migrations are applied first\n" +
			"unless --no-migrate. SIGTERM or SIGINT stops it gracefully. Logs are JSON on stderr.",
		Example: "  CREDVAULT_ALLOWED_HOSTS=127.0.0.1:8081 credvault serve\n  CREDVAULT_ADDR=:8000 DATABASE_URL=postgres://... credvault serve --no-migrate",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServer(cmd.Context(), noMigrate, stderr)
		},
	}
	cmd.Flags().BoolVar(&noMigrate, "no-migrate", false, "do not apply migrations at start")
	return cmd
}

func runServer(ctx context.Context, noMigrate bool, stderr io.Writer) error {
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	if cfg.Embedded() {
		abs, _ := filepath.Abs(cfg.DataDir)
		log.Info("embedded database", slog.String("data_dir", abs), slog.String("database", cfg.SQLitePath()))
	}
	p, err := credvault.Open(ctx, cfg, credvault.Options{Logger: log, Migrate: !noMigrate})
	if err != nil {
		return err
	}
	defer p.Close()

	log.Info("credvault starting", slog.Bool("embedded_database", cfg.Embedded()), slog.Bool("env_vault", cfg.EnvVaultEnabled()))
	ls := []serve.Listener{{Name: "credvault", Addr: cfg.Addr, Env: config.EnvAddr, Handler: p.Handler()}}
	if cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", p.MetricsHandler())
		ls = append(ls, serve.Listener{Name: "metrics", Addr: cfg.MetricsAddr, Env: config.EnvMetricsAddr, Handler: mux})
	}
	return serve.Run(ctx, log, ls...)
}

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

func keysCmd(out output, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "keys", Short: "Create a Tink keyset and rotate its keys without downtime", Args: noArgs,
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

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// openPlatform opens the server's database for an administration command.
// It refuses to create a new embedded database: run from another folder, a
// command would otherwise make a second database the server never sees.
func openPlatform(ctx context.Context, stderr io.Writer) (*credvault.Platform, error) {
	cfg, err := config.FromEnv()
	if err != nil {
		return nil, err
	}
	return credvault.Open(ctx, cfg, credvault.Options{Logger: newLogger(stderr, cfg.LogLevel), Migrate: true, NoCreate: true})
}

func orgCmd(out output, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Manage organizations and their API keys", Args: noArgs,
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
		Use:   "list",
		Short: "List organizations",
		Args:  noArgs,
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

// withPlatform runs f with the server's platform opened (openPlatform) and
// closes it afterwards: the body of an administration command.
func withPlatform(stderr io.Writer, f func(context.Context, *credvault.Platform) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		p, err := openPlatform(cmd.Context(), stderr)
		if err != nil {
			return err
		}
		defer p.Close()
		return f(cmd.Context(), p)
	}
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func auditCmd(out output, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "audit", Short: "Show audit events", Args: noArgs,
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

func outboxCmd(out output, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "outbox", Short: "Show vault item deletions waiting to be confirmed", Args: noArgs,
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

func checkServiceCmd(stdout io.Writer) *cobra.Command {
	var rawURL, token, tokenFile string
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "check-service",
		Short: "Check a custom credential service against the contract",
		Long: "Creates each credential type, reads it back comparing every field, deletes it, and checks 404s,\n" +
			"a wrong token and a trailing-slash base URL. Exit 0 if every required check passes, 1 if one fails,\n" +
			"2 on usage errors. The report is JSON; --format text prints one PASS/FAIL/WARN line per check.",
		Example: "  credvault check-service --url http://127.0.0.1:8081/api/v1/credentials --token-file token.txt --format text",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tokenFile != "" {
				b, err := os.ReadFile(tokenFile)
				if err != nil {
					return usageError{fmt.Sprintf("cannot read --token-file %s", tokenFile)}
				}
				token = strings.TrimSpace(string(b))
			}
			if token == "" {
				return usageError{"check-service needs --token TOKEN or --token-file FILE"}
			}
			cfg, err := config.FromEnv()
			if err != nil {
				return usageError{err.Error()}
			}
			policy, err := netpolicy.NewAddressPolicy(cfg.AllowedHosts, false)
			if err != nil {
				return usageError{err.Error()}
			}
			if _, err := policy.CheckURL("--url", rawURL); err != nil {
				return usageError{err.Error()}
			}
			rep := conformance.Run(cmd.Context(), rawURL, vault.NewSecret(token), conformance.Options{Policy: policy, Timeout: timeout})
			if asJSON || cmd.Flag("format").Value.String() == "json" {
				enc := json.NewEncoder(stdout)
				enc.SetIndent("", "  ")
				_ = enc.Encode(rep)
			} else {
				rep.Print(stdout) // --format text: one PASS/FAIL/WARN line per check
			}
			if !rep.OK {
				return checkFailed{}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&rawURL, "url", "", "the service's base URL, e.g. https://creds.example.com/api/v1/credentials")
	cmd.Flags().StringVar(&token, "token", "", "the service's API token")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "read the token from this file instead (keeps it out of the process list)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON (the default; kept for scripts)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "per-request timeout")
	_ = cmd.MarkFlagRequired("url")
	return cmd
}

func versionCmd(out output) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version (module version and commit)",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			v := map[string]string{"version": "(devel)", "commit": "", "go": ""}
			if bi, ok := debug.ReadBuildInfo(); ok {
				v["version"], v["go"] = bi.Main.Version, bi.GoVersion
				for _, s := range bi.Settings {
					switch s.Key {
					case "vcs.revision":
						v["commit"] = s.Value
					case "vcs.modified":
						if s.Value == "true" {
							v["commit"] += "+dirty"
						}
					}
				}
			}
			return out.print(v, func(w io.Writer) {
				fmt.Fprintf(w, "credvault %s (commit %s, %s)\n", v["version"], v["commit"], v["go"])
			})
		},
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// Command credvault runs the credvault server and its administration
// commands. Run `credvault help` for the list.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/conformance"
	"github.com/credvault/credvault/keyring"
	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/vault"
)

const usage = `credvault — credential vault for browser automation

Usage:
  credvault serve [--no-migrate]             run the server (migrates first)
  credvault migrate                          apply database migrations
  credvault keys init --out FILE             write a new Tink AEAD keyset (mode 0600)
  credvault keys rotate --in FILE --out FILE add a new primary key to a keyset
  credvault org create --name NAME           create an organization; prints its API key once
  credvault org add-key --org ID             add another API key to an organization
  credvault org revoke-key --org ID --key KEY_ID
                                             revoke an API key
  credvault check-service --url URL --token TOKEN [--json]
                                             check a custom credential service against the contract

Configuration comes from the environment; see README.md.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stderr)
	case "migrate":
		err = migrate(ctx, args[1:], stderr)
	case "keys":
		err = keys(args[1:], stdout, stderr)
	case "org":
		err = orgCmd(ctx, args[1:], stdout, stderr)
	case "check-service":
		return checkService(ctx, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "credvault: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "credvault: %v\n", err)
		return 2
	default:
		fmt.Fprintf(stderr, "credvault: %v\n", err)
		return 1
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("serve", stderr)
	noMigrate := fs.Bool("no-migrate", false, "do not apply migrations at start")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	p, err := credvault.Open(ctx, cfg, credvault.Options{Logger: log, Migrate: !*noMigrate})
	if err != nil {
		return err
	}
	defer p.Close()

	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           p.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Bind before announcing, so a busy port fails before "listening".
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	errc := make(chan error, 2)
	var metricsSrv *http.Server
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (%s): %w", cfg.MetricsAddr, config.EnvMetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", p.MetricsHandler())
		metricsSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 60 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		go func() { errc <- metricsSrv.Serve(mln) }()
		log.Info("metrics listening", slog.String("addr", mln.Addr().String()))
	}
	go func() { errc <- srv.Serve(ln) }()
	log.Info("credvault listening", slog.String("addr", ln.Addr().String()), slog.Bool("embedded_database", cfg.Embedded()),
		slog.Bool("env_vault", cfg.EnvVaultEnabled()))
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(shutdownCtx)
	}
	return srv.Shutdown(shutdownCtx)
}

func migrate(ctx context.Context, args []string, stderr io.Writer) error {
	if err := newFlags("migrate", stderr).Parse(args); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	st, err := credvault.OpenStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.Migrate(ctx, migrations.Credvault)
	if err != nil {
		return err
	}
	cur, _, err := migrations.Version(ctx, st.SQLDB(), st.Dialect(), migrations.Credvault)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "applied %d migration(s); schema version %d\n", n, cur)
	return nil
}

func keys(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"keys needs a subcommand: init or rotate"}
	}
	fs := newFlags("keys "+args[0], stderr)
	out := fs.String("out", "", "file to write (must not exist)")
	in := fs.String("in", "", "existing keyset file (rotate)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error()}
	}
	if *out == "" {
		return usageError{"--out FILE is required"}
	}
	switch args[0] {
	case "init":
		if err := keyring.WriteNewFile(*out); err != nil {
			return err
		}
	case "rotate":
		if *in == "" {
			return usageError{"--in FILE is required"}
		}
		b, err := os.ReadFile(*in)
		if err != nil {
			return err
		}
		nb, err := keyring.Rotate(b)
		if err != nil {
			return err
		}
		if err := keyring.WriteFile(*out, nb); err != nil {
			return err
		}
	default:
		return usageError{fmt.Sprintf("unknown keys subcommand %q", args[0])}
	}
	fmt.Fprintf(stdout, "wrote keyset to %s (mode 0600)\n", *out)
	return nil
}

func orgCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"org needs a subcommand: create, add-key or revoke-key"}
	}
	fs := newFlags("org "+args[0], stderr)
	name := fs.String("name", "", "organization name")
	orgID := fs.String("org", "", "organization id")
	keyID := fs.String("key", "", "API key id")
	if err := fs.Parse(args[1:]); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := config.FromEnv()
	if err != nil {
		return err
	}
	p, err := credvault.Open(ctx, cfg, credvault.Options{Logger: newLogger(stderr, cfg.LogLevel), Migrate: true})
	if err != nil {
		return err
	}
	defer p.Close()
	enc := json.NewEncoder(stdout)
	switch args[0] {
	case "create":
		if *name == "" {
			return usageError{"--name NAME is required"}
		}
		created, err := p.Organizations.Create(ctx, *name)
		if err != nil {
			return err
		}
		return enc.Encode(created)
	case "add-key":
		if *orgID == "" {
			return usageError{"--org ID is required"}
		}
		key, id, err := p.Organizations.AddKey(ctx, *orgID)
		if err != nil {
			return err
		}
		return enc.Encode(map[string]string{"organization_id": *orgID, "api_key_id": id, "api_key": key})
	case "revoke-key":
		if *orgID == "" || *keyID == "" {
			return usageError{"--org ID and --key KEY_ID are required"}
		}
		if err := p.Organizations.RevokeKey(ctx, *orgID, *keyID); err != nil {
			return err
		}
		return enc.Encode(map[string]any{"organization_id": *orgID, "api_key_id": *keyID, "revoked": true})
	}
	return usageError{fmt.Sprintf("unknown org subcommand %q", args[0])}
}

func checkService(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check-service", stderr)
	rawURL := fs.String("url", "", "the service's base URL, e.g. https://creds.example.com/api/v1/credentials")
	token := fs.String("token", "", "the service's API token")
	tokenFile := fs.String("token-file", "", "read the token from this file instead (keeps it out of the process list)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request timeout")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *tokenFile != "" {
		b, err := os.ReadFile(*tokenFile)
		if err != nil {
			fmt.Fprintf(stderr, "credvault: cannot read --token-file %s\n", *tokenFile)
			return 2
		}
		*token = strings.TrimSpace(string(b))
	}
	if *rawURL == "" || *token == "" {
		fmt.Fprintln(stderr, "credvault: check-service needs --url URL and --token TOKEN (or --token-file FILE)")
		return 2
	}
	cfg, err := config.FromEnv()
	if err != nil {
		fmt.Fprintf(stderr, "credvault: %v\n", err)
		return 2
	}
	policy, err := vault.NewAddressPolicy(cfg.AllowedHosts, false)
	if err != nil {
		fmt.Fprintf(stderr, "credvault: %v\n", err)
		return 2
	}
	rep := conformance.Run(ctx, *rawURL, vault.NewSecret(*token), conformance.Options{Policy: policy, Timeout: *timeout})
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep)
	} else {
		rep.Print(stdout)
	}
	if !rep.OK {
		return 1
	}
	return 0
}

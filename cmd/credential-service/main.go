// Command credential-service is the reference custom credential service:
// the contract credvault speaks, over PostgreSQL or embedded SQLite, with
// items encrypted at rest. See README.md ("Reference credential service").
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault/credservice"
	"github.com/credvault/credvault/internal/keyadmin"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/serve"
	"github.com/credvault/credvault/sealed"
)

const usage = `credential-service — the reference custom credential service

Usage:
  credential-service            run the service (configuration from the environment)
  credential-service keys ...   rotate the items' keyset without downtime (keys --help)
  credential-service --help     this help

Environment: CREDENTIAL_SERVICE_TOKENS (or CREDENTIAL_SERVICE_TOKENS_FILE, re-read on
SIGHUP), CREDENTIAL_SERVICE_ADDR (default 127.0.0.1:8081), DATABASE_URL,
CREDENTIAL_SERVICE_KEYSET_FILE, CREDENTIAL_SERVICE_DATA_DIR. See README.md.

Example:
  CREDENTIAL_SERVICE_TOKENS=demo-token-change-me-0123456789 credential-service
`

func main() {
	if len(os.Args) > 1 && os.Args[1] == "keys" {
		os.Exit(keysMain(os.Args[2:]))
	}
	for _, a := range os.Args[1:] {
		switch a {
		case "-h", "--help", "help":
			fmt.Print(usage)
			os.Exit(0)
		}
	}
	if len(os.Args) > 1 {
		fmt.Fprintf(os.Stderr, "credential-service: unexpected argument %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		fmt.Fprintf(os.Stderr, "credential-service: %v\n", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := credservice.ConfigFromEnv(os.LookupEnv)
	if err != nil {
		return err
	}
	kr, generatedAt, err := cfg.LoadKeyring()
	if err != nil {
		return err
	}
	if mode, open := keyring.OpenToOthers(cfg.KeysetFile); cfg.KeysetFile != "" && open {
		log.Warn("the keyset file can be read by other users; restrict it to its owner (chmod 600)",
			slog.String("path", cfg.KeysetFile), slog.String("mode", mode.String()))
	}
	if generatedAt != "" {
		log.Warn("generated a new Tink keyset for the embedded database; back it up, or set CREDENTIAL_SERVICE_KEYSET_FILE",
			slog.String("path", generatedAt))
	}
	st, err := credservice.OpenStorage(ctx, cfg.DatabaseURL, cfg.SQLitePath())
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	svc, err := credservice.New(st, kr, cfg.Tokens, log)
	if err != nil {
		return err
	}

	var tlsFiles *serve.TLSFiles
	if cfg.TLSCertFile != "" {
		if tlsFiles, err = serve.LoadTLSFiles(cfg.TLSCertFile, cfg.TLSKeyFile, cfg.ClientCAFile); err != nil {
			return err
		}
	}

	// SIGHUP re-reads CREDENTIAL_SERVICE_TOKENS_FILE and the TLS files:
	// rotate tokens and certificates with no restart, no connection lost.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			reload(log, svc, cfg, tlsFiles)
		}
	}()

	log.Info("credential-service starting", slog.Int("tokens", len(cfg.Tokens)), slog.Bool("embedded_database", cfg.DatabaseURL == ""),
		slog.Bool("tls", tlsFiles != nil), slog.Bool("client_certificates_required", cfg.ClientCAFile != ""))
	l := serve.Listener{Name: "credential-service", Addr: cfg.Addr, Env: credservice.EnvAddr, Handler: svc.Handler(), WriteTimeout: 30 * time.Second}
	if tlsFiles != nil {
		l.TLS = tlsFiles.Config()
	}
	return serve.Run(ctx, log, l)
}

// reload is SIGHUP: the tokens file and the TLS files read again; a file
// that fails leaves what it held in use.
func reload(log *slog.Logger, svc *credservice.Server, cfg credservice.Config, tlsFiles *serve.TLSFiles) {
	if cfg.TokensFile != "" {
		if n, err := svc.ReloadTokensFile(cfg.TokensFile); err != nil {
			log.Error("token reload failed; keeping the previous tokens", slog.String("error", err.Error()))
		} else {
			log.Info("reloaded accepted tokens", slog.Int("count", n))
		}
	}
	if tlsFiles != nil {
		if err := tlsFiles.Reload(); err != nil {
			log.Error("TLS reload failed; keeping the previous certificate", slog.String("error", err.Error()))
		} else {
			log.Info("reloaded the TLS certificate", slog.Time("not_after", tlsFiles.NotAfter()))
		}
	}
	if cfg.TokensFile == "" && tlsFiles == nil {
		log.Warn("SIGHUP ignored: tokens come from CREDENTIAL_SERVICE_TOKENS, not a file, and there is no TLS certificate to reload")
	}
}

// keysMain runs `credential-service keys ...`: the same key lifecycle as
// `credvault keys`, on CREDENTIAL_SERVICE_KEYSET_FILE and the items.
func keysMain(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var format string
	usage := func(msg string) error { return usageErr(msg) }
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Rotate the keyset that encrypts the items, in Tink's safe order: add, deploy, promote, deploy, reencrypt, disable",
		Long: "Each step rewrites CREDENTIAL_SERVICE_KEYSET_FILE (or --keyset FILE) in place, atomically, mode 0600.\n" +
			"The database is the service's (DATABASE_URL, or the embedded one in CREDENTIAL_SERVICE_DATA_DIR).",
		SilenceUsage: true, SilenceErrors: true,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&format, "format", "json", "output format: json or text")
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageErr(err.Error()) })
	print := func(v any, text func(w io.Writer)) error {
		if format == "text" {
			tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
			text(tw)
			return tw.Flush()
		}
		return json.NewEncoder(os.Stdout).Encode(v)
	}
	cmd.AddCommand(keyadmin.Commands(keyadmin.Options{
		Program:   "credential-service",
		KeysetEnv: credservice.EnvKeysetFile,
		Generated: func() string {
			if c := keysConfig(); c.DatabaseURL == "" {
				if p := filepath.Join(c.DataDir, "keyset.json"); fileExists(p) {
					return p
				}
			}
			return ""
		},
		Open: func(ctx context.Context) (keyadmin.Database, error) {
			c := keysConfig()
			if c.DatabaseURL == "" {
				if _, err := os.Stat(c.SQLitePath()); err != nil {
					return nil, fmt.Errorf("no database at %s: set DATABASE_URL or %s", c.SQLitePath(), credservice.EnvDataDir)
				}
			}
			st, err := credservice.OpenStorage(ctx, c.DatabaseURL, c.SQLitePath())
			if err != nil {
				return nil, err
			}
			return serviceDB{st}, nil
		},
		Print:  print,
		Stderr: os.Stderr,
		Usage:  usage,
	})...)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(ctx)
	var ue usageErr
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue), strings.HasPrefix(err.Error(), "unknown command"), strings.Contains(err.Error(), "accepts "):
		fmt.Fprintf(os.Stderr, "credential-service keys: %v\n", err)
		return 2
	}
	fmt.Fprintf(os.Stderr, "credential-service keys: %v\n", err)
	return 1
}

type usageErr string

func (e usageErr) Error() string { return string(e) }

// keysConfig is the part of the configuration the keys commands need (no
// tokens).
func keysConfig() credservice.Config {
	c := credservice.Config{DatabaseURL: os.Getenv(credservice.EnvDatabaseURL), DataDir: os.Getenv(credservice.EnvDataDir)}
	if c.DataDir == "" {
		c.DataDir = credservice.DefaultDataDir
	}
	return c
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// serviceDB is the service's storage as the keys commands see it.
type serviceDB struct{ *credservice.Storage }

func (d serviceDB) Sets() []sealed.Set { return []sealed.Set{d.Sealed()} }

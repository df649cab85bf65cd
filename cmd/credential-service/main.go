// Command credential-service is the reference custom credential service:
// the contract credvault speaks, over PostgreSQL or embedded SQLite, with
// items encrypted at rest. See README.md ("Reference credential service").
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/credvault/credvault/credservice"
	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/store"
)

const usage = `credential-service — the reference custom credential service

Usage:
  credential-service            run the service (configuration from the environment)
  credential-service --help     this help

Environment: CREDENTIAL_SERVICE_TOKENS (or CREDENTIAL_SERVICE_TOKENS_FILE, re-read on
SIGHUP), CREDENTIAL_SERVICE_ADDR (default 127.0.0.1:8081), DATABASE_URL,
CREDENTIAL_SERVICE_KEYSET_FILE, CREDENTIAL_SERVICE_DATA_DIR. See README.md.

Example:
  CREDENTIAL_SERVICE_TOKENS=demo-token-change-me-0123456789 credential-service
`

func main() {
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
	if generatedAt != "" {
		log.Warn("generated a new Tink keyset for the embedded database; back it up, or set CREDENTIAL_SERVICE_KEYSET_FILE",
			slog.String("path", generatedAt))
	}
	st, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, SQLitePath: cfg.SQLitePath()})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx, migrations.CredentialService); err != nil {
		return err
	}
	svc, err := credservice.New(st, kr, cfg.Tokens, log)
	if err != nil {
		return err
	}

	// SIGHUP re-reads CREDENTIAL_SERVICE_TOKENS_FILE: rotate tokens with
	// no restart.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			if cfg.TokensFile == "" {
				log.Warn("SIGHUP ignored: tokens come from CREDENTIAL_SERVICE_TOKENS, not a file")
				continue
			}
			n, err := svc.ReloadTokensFile(cfg.TokensFile)
			if err != nil {
				log.Error("token reload failed; keeping the previous tokens", slog.String("error", err.Error()))
				continue
			}
			log.Info("reloaded accepted tokens", slog.Int("count", n))
		}
	}()

	srv := &http.Server{Addr: cfg.Addr, Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	// Bind before announcing, so a busy port fails before "listening".
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s (%s): %w", cfg.Addr, credservice.EnvAddr, err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("credential-service listening", slog.String("addr", ln.Addr().String()), slog.Int("tokens", len(cfg.Tokens)),
		slog.Bool("embedded_database", cfg.DatabaseURL == ""))
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
		}
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

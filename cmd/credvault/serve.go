package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/serve"
)

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

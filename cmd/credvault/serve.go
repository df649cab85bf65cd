package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

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
	if _, set := os.LookupEnv("GOGC"); !set {
		// The caches hold most of a busy process's memory and live long:
		// the collector's target follows the live heap (tuneGC) so a
		// large heap grows by half before a collection, not Go's
		// doubling, and a small one is not collected tens of times a
		// second. GOGC, when set, wins.
		go tuneGC(ctx)
	}
	if cfg.Embedded() {
		abs, _ := filepath.Abs(cfg.DataDir)
		unlock, err := lockDataDir(abs)
		if err != nil {
			return err
		}
		defer unlock()
		log.Info("embedded database", slog.String("data_dir", abs), slog.String("database", cfg.SQLitePath()))
	}
	var tlsFiles *serve.TLSFiles
	if cfg.TLSCertFile != "" {
		if tlsFiles, err = serve.LoadTLSFiles(cfg.TLSCertFile, cfg.TLSKeyFile, ""); err != nil {
			return fmt.Errorf("%s/%s: %w", config.EnvTLSCertFile, config.EnvTLSKeyFile, err)
		}
		reloadOnHUP(ctx, log, tlsFiles)
	}
	p, err := credvault.Open(ctx, cfg, credvault.Options{Logger: log, Migrate: !noMigrate})
	if err != nil {
		return err
	}
	defer p.Close()

	// The effective configuration, once, secrets excluded (Config.LogValue).
	log.Info("credvault starting", slog.Any("config", cfg))
	ls := []serve.Listener{{Name: "credvault", Addr: cfg.Addr, Env: config.EnvAddr, Handler: p.Handler()}}
	if tlsFiles != nil {
		ls[0].TLS = tlsFiles.Config()
	}
	if cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", p.MetricsHandler())
		ls = append(ls, serve.Listener{Name: "metrics", Addr: cfg.MetricsAddr, Env: config.EnvMetricsAddr, Handler: mux})
	}
	if cfg.PprofAddr != "" {
		// Profiles, on loopback only (config checks the address).
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		ls = append(ls, serve.Listener{Name: "pprof", Addr: cfg.PprofAddr, Env: config.EnvPprofAddr, Handler: mux})
	}
	return serve.RunWith(ctx, log, serve.Options{Drain: cfg.ShutdownDrain, OnDrain: p.Drain}, ls...)
}

// lockDataDir takes the embedded database's data directory for this
// process: the embedded database serves one process, and a second serve on
// the same directory would fight the first over the file (and miss its
// cache invalidations). The lock is released when the process ends,
// however it ends.
func lockDataDir(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	path := filepath.Join(dir, "serve.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another credvault serve is already running on the embedded database in %s: "+
			"the embedded database serves one process. Stop the other one, or run several on PostgreSQL (%s)", dir, config.EnvDatabaseURL)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// reloadOnHUP re-reads the TLS certificate and key on SIGHUP: handshakes
// from then on use the new ones; no connection is dropped.
func reloadOnHUP(ctx context.Context, log *slog.Logger, f *serve.TLSFiles) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		defer signal.Stop(hup)
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				if err := f.Reload(); err != nil {
					log.Error("TLS reload failed; keeping the previous certificate", slog.String("error", err.Error()))
				} else {
					log.Info("reloaded the TLS certificate", slog.Time("not_after", f.NotAfter()))
				}
			}
		}
	}()
}

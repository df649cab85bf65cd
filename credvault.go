// Package credvault is the entry point for a platform backend that embeds
// credvault, and its one composition root: Open wires the store, keyring,
// organizations, vaults and credentials from a config.Config (config.Default
// for one built in Go) and Options (a logger, a Prometheus registry, the
// host's own PostgreSQL pool), and the returned Platform offers the Go API
// (create, get with the secret, list, update, delete credentials, TOTP
// codes, folders, the outbox, reconcile and migrate) and the HTTP handler
// of the REST API and pages, which work under any path prefix
// (http.StripPrefix). OpenAdmin opens the database for the
// administration commands that need no platform (migrations, keys).
package credvault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/httpapi"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/lru"
	"github.com/credvault/credvault/migrations"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/otpcodes"
	"github.com/credvault/credvault/store/sqlstore"
	"github.com/credvault/credvault/vault/contract"
	"github.com/credvault/credvault/vault/envvault"
	"github.com/credvault/credvault/vault/netpolicy"
	"github.com/credvault/credvault/vault/orgvault"
)

// Options tune Open beyond the environment configuration.
type Options struct {
	// Logger receives credvault's logs (default: discarded).
	Logger *slog.Logger
	// Migrate applies pending migrations before returning.
	Migrate bool
	// Registerer receives Prometheus metrics and Gatherer serves them at
	// /metrics; set both (e.g. prometheus.DefaultRegisterer and
	// DefaultGatherer) or neither (a private registry with the Go runtime
	// and process collectors).
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// NoCreate refuses to create an embedded database that does not exist
	// yet (ErrNoDatabase), for commands run against a server's database.
	NoCreate bool
	// DB is the host's own PostgreSQL pool, used instead of
	// Config.DatabaseURL (set one or the other). Open it with the pgx
	// driver (sql.Open("pgx", url) after importing
	// github.com/jackc/pgx/v5/stdlib): the change listener holds one of
	// its connections. credvault's tables go to the schema its search_path
	// names (add search_path=credvault to the URL to keep them apart); the
	// pool's size and lifetime stay the host's, and Close leaves it open.
	DB *sql.DB
}

// Platform is a running credvault: everything wired and ready.
type Platform struct {
	// Organizations creates organizations and authenticates API keys.
	Organizations *org.Organizations
	// Configs manages organizations' custom credential service
	// configurations.
	Configs *org.Configs
	// Vault resolves each organization's credential vault.
	Vault *orgvault.Vault
	// OTPCodes stores one-time codes pushed for email and SMS logins.
	OTPCodes *otpcodes.Service
	// Credentials creates, reads, lists, updates and deletes credentials
	// and computes TOTP codes: the Go API for the embedding backend.
	Credentials *credentials.Service
	// Folders files credentials in folders.
	Folders *credentials.Folders
	// Outbox deletes the vault items that must go, until their service
	// confirms (its worker runs until Close).
	Outbox *credentials.Outbox
	// Maintenance reconciles rows with their items and moves credentials
	// to an organization's current service.
	Maintenance *credentials.Maintenance
	st          *sqlstore.Store
	handler     http.Handler
	metrics     http.Handler
	// stop ends the background work (change listener, outbox worker);
	// background waits for it.
	stop       context.CancelFunc
	background sync.WaitGroup
	// feed is the change feed's state, which the caches consult.
	feed *lru.Feed
	// env is the operator's env-configured vault (nil when none).
	env *envvault.Vault
	// auditRetention is how long audit events are kept.
	auditRetention time.Duration
	// envCertNotAfter is when the env vault's client certificate expires
	// (zero: it has none).
	envCertNotAfter time.Time
	// draining turns /readyz to 503 (Drain).
	draining atomic.Bool
	// repl caches replicationWarnings (under replMu) since replAt.
	replMu sync.Mutex
	replAt time.Time
	repl   []string
}

// Drain turns readiness (/readyz) to 503 while everything else keeps
// serving, so a load balancer stops sending new requests before the
// process stops: `credvault serve` calls it on SIGTERM, then waits
// CREDVAULT_SHUTDOWN_DRAIN before it stops accepting.
func (p *Platform) Drain() { p.draining.Store(true) }

// Open wires a Platform from cfg. Close it when done.
func Open(ctx context.Context, cfg config.Config, opts Options) (*Platform, error) {
	cfg, log, err := prepare(cfg, &opts)
	if err != nil {
		return nil, err
	}
	// Everything that can fail without touching the database, first.
	policy, err := netpolicy.NewAddressPolicy(cfg.AllowedHosts, true)
	if err != nil {
		return nil, err
	}
	env, err := newEnvVault(cfg)
	if err != nil {
		return nil, err
	}
	kr, err := loadKeyring(cfg, cfg.Embedded() && opts.DB == nil, log)
	if err != nil {
		return nil, err
	}
	st, err := openChecked(ctx, cfg, opts, kr, log)
	if err != nil {
		return nil, err
	}
	// Every metric goes through reg, which records a collision (a second
	// Open on one registry) instead of panicking.
	reg := &registrations{Registerer: opts.Registerer}
	p := compose(cfg, st, kr, env, policy, reg, log)
	p.handler = p.newHandler(cfg, kr, reg, opts.Gatherer, log)
	p.metrics = httpapi.MetricsHandler(opts.Gatherer)
	registerOutboxMetrics(reg, st, p.Outbox)
	if reg.err != nil {
		reg.undo()
		st.Close()
		return nil, fmt.Errorf("credvault: Options.Registerer refused credvault's metrics (%w): it holds them already, from another Open? "+
			"Give each Platform its own registry, or wrap it with prometheus.WrapRegistererWith and a distinguishing label", reg.err)
	}
	p.startBackground(log, cfg.CacheGrace)
	if env != nil {
		if at, ok := env.ClientCertificateExpiry(); ok {
			p.envCertNotAfter = at
			registerCertificateExpiry(reg, at)
		}
	}
	for _, m := range p.warnings(ctx) {
		log.Warn(m)
	}
	return p, nil
}

// prepare validates cfg and opts, fills their defaults (a private metrics
// registry with the Go and process collectors when none is given) and
// returns the effective configuration and logger.
func prepare(cfg config.Config, opts *Options) (config.Config, *slog.Logger, error) {
	if err := cfg.Validate(); err != nil {
		return cfg, nil, err
	}
	cfg = cfg.WithDefaults()
	if opts.DB != nil && cfg.DatabaseURL != "" {
		return cfg, nil, errors.New("credvault.Options.DB and Config.DatabaseURL are both set: choose one")
	}
	if opts.NoCreate && opts.DB == nil {
		if err := databaseExists(cfg); err != nil {
			return cfg, nil, err
		}
	}
	if (opts.Registerer == nil) != (opts.Gatherer == nil) {
		return cfg, nil, errors.New("credvault.Options: Registerer and Gatherer go together (the Gatherer serves what the Registerer receives); set both or neither")
	}
	if opts.Registerer == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		opts.Registerer, opts.Gatherer = reg, reg
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return cfg, log, nil
}

// openChecked opens the store, migrates it when asked, and fails fast on
// the wrong schema or keyset rather than answer 500 to every request.
func openChecked(ctx context.Context, cfg config.Config, opts Options, kr *keyring.Keyring, log *slog.Logger) (*sqlstore.Store, error) {
	st, err := openStore(ctx, cfg, opts.DB)
	if err != nil {
		return nil, err
	}
	if opts.Migrate {
		n, err := st.Migrate(ctx, migrations.Credvault)
		if err != nil {
			st.Close()
			return nil, err
		}
		if n > 0 {
			log.Info("applied database migrations", slog.Int("count", n))
		}
	}
	if err := checkSchema(ctx, st, log); err != nil {
		st.Close()
		return nil, err
	}
	if err := checkKeyset(ctx, st, kr); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// compose builds the services over st. While the change feed is down
// (PostgreSQL: until the listener is subscribed, and whenever it loses
// its connection), no cache serves an entry older than a second
// unchecked: a revocation or a deletion by another replica reaches this
// one within a second even when only new connections fail.
func compose(cfg config.Config, st *sqlstore.Store, kr *keyring.Keyring, env *envvault.Vault, policy netpolicy.AddressPolicy,
	reg prometheus.Registerer, log *slog.Logger) *Platform {
	feed := &lru.Feed{}
	if st.Dialect() == migrations.Postgres {
		feed.SetConnected(false)
	}
	src := org.NewConfigSource(st, kr)
	ov := orgvault.New(src, orgvault.Options{Env: env, Policy: policy, Timeout: cfg.CustomTimeout,
		CacheSize: cfg.CacheClients, ConnsPerHost: cfg.UpstreamConnsPerHost, MustCheck: feed.MustCheck})
	credOpts := []credentials.Option{credentials.WithOutboxLease(cfg.OutboxLease), credentials.WithCreateLease(cfg.CreateLease),
		credentials.WithRowCacheSize(cfg.CacheRows), credentials.WithRevalidate(feed.MustCheck)}
	if cfg.NoReadBack {
		credOpts = append(credOpts, credentials.WithoutReadBack())
	}
	p := &Platform{st: st, feed: feed, env: env, Organizations: org.NewOrganizations(st, cfg.CacheKeys),
		Configs: org.NewConfigs(src, ov), Vault: ov, OTPCodes: otpcodes.New(st, kr),
		Credentials: credentials.New(credentials.Store(st), contract.NewMetrics(reg, connectionsOpened(ov, env)).Instrument(ov), log, credOpts...)}
	p.Organizations.MustCheck = feed.MustCheck
	p.auditRetention = cfg.AuditRetention
	p.Folders, p.Outbox, p.Maintenance = p.Credentials.Folders(), p.Credentials.Outbox(), p.Credentials.Maintenance()
	return p
}

// newHandler is the HTTP API over p's services.
func (p *Platform) newHandler(cfg config.Config, kr *keyring.Keyring, reg prometheus.Registerer, g prometheus.Gatherer, log *slog.Logger) http.Handler {
	return httpapi.New(httpapi.Deps{
		Logger:         log,
		Auth:           p.Organizations,
		Configs:        p.Configs,
		Credentials:    p.Credentials,
		Migrator:       p.Maintenance,
		Folders:        p.Folders,
		OTP:            p.OTPCodes,
		Audit:          p.Organizations,
		Keys:           p.Organizations,
		Denials:        p.Organizations,
		Ready:          func(ctx context.Context) error { return p.ready(ctx, kr) },
		Warnings:       p.warnings,
		Registerer:     reg,
		Gatherer:       g,
		ConfigRate:     cfg.RateConfig,
		CredentialRate: cfg.RateCredentials,
		ReadRate:       cfg.RateReads,
		CORSOrigins:    cfg.CORSOrigins,
		// With CREDVAULT_METRICS_ADDR, /metrics is served only there.
		NoMetricsRoute: cfg.MetricsAddr != "",
	})
}

// ready is /readyz: not draining, the database answers, its schema is
// current and the keyset decrypts the canary (read only: a probe must not
// write).
func (p *Platform) ready(ctx context.Context, kr *keyring.Keyring) error {
	if p.draining.Load() {
		return httpapi.ErrDraining
	}
	if err := p.st.Ping(ctx); err != nil {
		return err
	}
	if err := checkSchema(ctx, p.st, nil); err != nil {
		return err
	}
	stored, err := p.st.ReadKeysetCanary(ctx)
	if err != nil {
		return err
	}
	return canaryDecrypts(kr, stored)
}

// warnings is what /readyz lists while ready: asynchronous replication,
// and the env-configured service's client certificate within 30 days of
// its expiry (or past it).
func (p *Platform) warnings(ctx context.Context) []string {
	ws := p.replicationWarnings(ctx)
	if at := p.envCertNotAfter; !at.IsZero() {
		switch left := time.Until(at); {
		case left <= 0:
			ws = append(ws, fmt.Sprintf("the client certificate of the env-configured service (%s) expired on %s", config.EnvCustomClientCertFile, at.Format(time.DateOnly)))
		case left < netpolicy.ExpiryWarning:
			ws = append(ws, fmt.Sprintf("the client certificate of the env-configured service (%s) expires in %d days (%s)",
				config.EnvCustomClientCertFile, int(left.Hours()/24), at.Format(time.DateOnly)))
		}
	}
	return ws
}

// registerCertificateExpiry exports the env vault's client certificate's
// remaining validity (credvault_env_client_certificate_expiry_seconds).
func registerCertificateExpiry(reg prometheus.Registerer, notAfter time.Time) {
	_ = reg.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "credvault_env_client_certificate_expiry_seconds",
		Help: "Seconds until the env-configured service's client certificate (CUSTOM_CREDENTIAL_CLIENT_CERT_FILE) expires; negative once it has.",
	}, func() float64 { return time.Until(notAfter).Seconds() }))
}

// replicationWarnings says when the primary has a standby attached but
// commits wait for none (synchronous_standby_names empty): a failover
// then loses what was acknowledged and not yet replicated (see
// docs/RELIABILITY.md). Checked at most every 30 seconds.
func (p *Platform) replicationWarnings(ctx context.Context) []string {
	p.replMu.Lock()
	defer p.replMu.Unlock()
	if time.Since(p.replAt) < 30*time.Second {
		return p.repl
	}
	standbys, syncNames, err := p.st.Replication(ctx)
	p.replAt = time.Now()
	p.repl = nil
	if err == nil {
		if w := replicationWarning(standbys, syncNames); w != "" {
			p.repl = []string{w}
		}
	}
	return p.repl
}

// replicationWarning is the warning for a primary with standbys streaming
// from it and synchronous_standby_names as given ("" when all is well).
func replicationWarning(standbys int, syncNames string) string {
	if standbys == 0 || strings.TrimSpace(syncNames) != "" {
		return ""
	}
	return fmt.Sprintf("asynchronous replication: %d standby attached and synchronous_standby_names is empty, "+
		"so a failover loses commits not yet replicated (acknowledged creates, deletes); set synchronous_standby_names "+
		"(docs/RELIABILITY.md, \"A failover must not lose commits\")", standbys)
}

// registrations registers collectors with a Registerer, recording the
// first refusal instead of panicking (MustRegister), so Open can return it
// as an error and undo what it registered.
type registrations struct {
	prometheus.Registerer
	done []prometheus.Collector
	err  error
}

func (r *registrations) Register(c prometheus.Collector) error {
	err := r.Registerer.Register(c)
	if err == nil {
		r.done = append(r.done, c)
	} else if r.err == nil {
		r.err = err
	}
	return err
}

func (r *registrations) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

// undo unregisters what was registered.
func (r *registrations) undo() {
	for _, c := range r.done {
		r.Registerer.Unregister(c)
	}
}

// Handler serves the REST API, settings page and operational endpoints.
func (p *Platform) Handler() http.Handler { return p.handler }

// MetricsHandler serves the Prometheus metrics, for a separate listener
// (CREDVAULT_METRICS_ADDR); Handler serves them at /metrics otherwise.
func (p *Platform) MetricsHandler() http.Handler { return p.metrics }

// startBackground runs, until Close, the outbox worker (deleting
// recorded vault items) and the change listener: it follows the changes
// other processes sharing the database make (PostgreSQL LISTEN/NOTIFY)
// and drops exactly what they change from this process's caches; when the
// listener loses its connection everything is dropped, so a missed
// notification cannot serve stale data for longer than the reconnect. On
// SQLite it polls the change log once a second instead.
func (p *Platform) startBackground(log *slog.Logger, cacheGrace time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	ready := make(chan struct{}, 1)
	p.background.Go(func() { p.Outbox.Run(ctx) })
	p.background.Go(func() { p.pruneAudit(ctx, log) })
	p.background.Go(func() { p.Credentials.RunAudit(ctx) })
	p.background.Go(func() {
		p.st.Listen(ctx, sqlstore.ListenOptions{
			Logger: log,
			Grace:  cacheGrace,
			OnChange: func(c sqlstore.Change) {
				switch c.Topic {
				case sqlstore.TopicConfig:
					p.Vault.Invalidate(c.Payload)
				case sqlstore.TopicAPIKey:
					p.Organizations.InvalidateKey(c.Payload)
				case sqlstore.TopicCredential:
					p.Credentials.Invalidate(c.Payload)
				}
			},
			OnReset: func() {
				p.Vault.Flush()
				p.Organizations.FlushKeys()
				p.Credentials.Flush()
			},
			OnLost: func() { p.feed.SetConnected(false) },
			OnReady: func() {
				p.feed.SetConnected(true)
				select {
				case ready <- struct{}{}:
				default:
				}
			},
		})
	})
	if p.st.Dialect() == migrations.Postgres {
		// Serve only once subscribed, so no change is missed at start.
		select {
		case <-ready:
		case <-time.After(5 * time.Second):
			log.Warn("change listener not subscribed yet; caches rely on their TTL until it is")
		}
	}
}

// Close stops the change listener and the outbox worker, closes the
// connections to the services (nothing of the Platform keeps running
// after it: no goroutine, no connection) and releases the database.
func (p *Platform) Close() error {
	if p.stop != nil {
		p.stop()
		p.background.Wait()
	}
	p.Vault.Close()
	if p.env != nil {
		p.env.Close()
	}
	return p.st.Close()
}

// registerOutboxMetrics registers the outbox's gauges and counter: what is
// pending, how old the oldest entry is, and this process's attempts.
func registerOutboxMetrics(reg prometheus.Registerer, st *sqlstore.Store, o *credentials.Outbox) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "credvault_outbox_pending",
			Help: "Vault item deletions recorded and not yet confirmed by the service."},
			func() float64 { n, _, _ := st.DeletionStats(context.Background()); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "credvault_outbox_oldest_seconds",
			Help: "Age of the oldest pending vault item deletion (0 when none)."},
			func() float64 {
				_, oldest, _ := st.DeletionStats(context.Background())
				if oldest.IsZero() {
					return 0
				}
				return time.Since(oldest).Seconds()
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "credvault_outbox_attempts_total",
			Help: "Attempts at recorded vault item deletions by this process."},
			func() float64 { return float64(o.Attempts()) }),
	)
}

// connectionsOpened sums what the vaults' transports opened.
func connectionsOpened(ov *orgvault.Vault, env *envvault.Vault) func() uint64 {
	return func() uint64 {
		n := ov.ConnectionsOpened()
		if env != nil {
			n += env.ConnectionsOpened()
		}
		return n
	}
}

// auditPruneBatch is how many audit events one pruning statement deletes.
const auditPruneBatch = 1000

// pruneAudit keeps the audit trail within its retention: at start and then
// hourly, it deletes the events older than the retention in batches
// (another replica doing the same deletes nothing twice).
func (p *Platform) pruneAudit(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		p.PruneAudit(ctx, log)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// PruneAudit deletes the audit events older than CREDVAULT_AUDIT_RETENTION
// now, in batches, and reports how many it deleted.
func (p *Platform) PruneAudit(ctx context.Context, log *slog.Logger) int64 {
	before := p.st.Now().Add(-p.auditRetention)
	var total int64
	for ctx.Err() == nil {
		n, err := p.st.PruneAuditEvents(ctx, before, auditPruneBatch)
		total += n
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("could not prune the audit trail; retrying in an hour", slog.String("error", err.Error()))
			}
			break
		}
		if n < auditPruneBatch {
			break
		}
	}
	if total > 0 {
		log.Info("pruned the audit trail", slog.Int64("events", total), slog.Time("before", before))
	}
	return total
}

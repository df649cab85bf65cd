package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/credvault/credvault/internal/envconf"
)

// Environment variable names. They are public interface (README, Configuration).
const (
	EnvDatabaseURL     = "DATABASE_URL"
	EnvAddr            = "CREDVAULT_ADDR"
	EnvKeysetFile      = "CREDVAULT_KEYSET_FILE"
	EnvKeyset          = "CREDVAULT_KEYSET"
	EnvVaultType       = "CREDENTIAL_VAULT_TYPE"
	EnvCustomBaseURL   = "CUSTOM_CREDENTIAL_API_BASE_URL"
	EnvCustomToken     = "CUSTOM_CREDENTIAL_API_TOKEN"
	EnvAllowedHosts    = "CREDVAULT_ALLOWED_HOSTS"
	EnvCustomTimeout   = "CUSTOM_CREDENTIAL_TIMEOUT"
	EnvDataDir         = "CREDVAULT_DATA_DIR"
	EnvLogLevel        = "CREDVAULT_LOG_LEVEL"
	EnvMetricsAddr     = "CREDVAULT_METRICS_ADDR"
	EnvCORSOrigins     = "CREDVAULT_CORS_ORIGINS"
	EnvRateConfig      = "CREDVAULT_RATE_LIMIT_CONFIG"
	EnvRateCredentials = "CREDVAULT_RATE_LIMIT_CREDENTIALS"
	EnvRateReads       = "CREDVAULT_RATE_LIMIT_READS"
	EnvCacheGrace      = "CREDVAULT_CACHE_GRACE"
	EnvOutboxLease     = "CREDVAULT_OUTBOX_LEASE"
	EnvCreateLease     = "CREDVAULT_CREATE_LEASE"
	EnvCacheKeys       = "CREDVAULT_CACHE_KEYS"
	EnvCacheRows       = "CREDVAULT_CACHE_ROWS"
	EnvCacheClients    = "CREDVAULT_CACHE_CLIENTS"
	EnvConnsPerHost    = "CREDVAULT_UPSTREAM_CONNS_PER_HOST"
	EnvPprofAddr       = "CREDVAULT_PPROF_ADDR"
	EnvReadBack        = "CREDVAULT_READ_BACK"
	EnvDBTimeout       = "CREDVAULT_DB_TIMEOUT"
	EnvShutdownDrain   = "CREDVAULT_SHUTDOWN_DRAIN"
	EnvAuditRetention  = "CREDVAULT_AUDIT_RETENTION"
	// HTTPS for credvault serve, without a terminating proxy.
	EnvTLSCertFile = "CREDVAULT_TLS_CERT_FILE"
	EnvTLSKeyFile  = "CREDVAULT_TLS_KEY_FILE"
	// The env-configured service's own trust: its CA, and a client
	// certificate for mutual TLS (PEM files).
	EnvCustomCAFile         = "CUSTOM_CREDENTIAL_CA_FILE"
	EnvCustomClientCertFile = "CUSTOM_CREDENTIAL_CLIENT_CERT_FILE"
	EnvCustomClientKeyFile  = "CUSTOM_CREDENTIAL_CLIENT_KEY_FILE"
	DefaultDrain            = 2 * time.Second
	// The caches' and the upstream pool's defaults (the packages that use
	// them default to the same: org, credentials, orgvault, netpolicy).
	DefaultCacheKeys    = 100_000
	DefaultCacheRows    = 50_000
	DefaultCacheClients = 20_000
	DefaultConnsPerHost = 128
	DefaultDBTimeout    = 5 * time.Second
	// DefaultAuditRetention is how long audit events are kept (400 days:
	// a year and a quarter, for a yearly review).
	DefaultAuditRetention = 400 * 24 * time.Hour
	DefaultCreateLease    = 2 * time.Minute
	DefaultOutboxLease    = 2 * time.Minute
	DefaultCacheGrace     = time.Minute
	DefaultAddr           = "127.0.0.1:8000"
	DefaultDataDir        = "credvault-data"
	DefaultTimeout        = 10 * time.Second
	VaultTypeCustom       = "custom"
)

// Config is credvault's whole start-up configuration.
type Config struct {
	// DatabaseURL is a postgres:// URL; empty selects the embedded SQLite
	// database under DataDir.
	DatabaseURL SecretURL
	// DataDir holds the embedded database and generated keyset.
	DataDir string
	// Addr is the HTTP listen address.
	Addr string
	// KeysetFile is the path of a Tink AEAD keyset in JSON.
	KeysetFile string
	// Keyset is an inline Tink AEAD keyset in JSON. It is key material:
	// never log it.
	Keyset Secret
	// VaultType is CREDENTIAL_VAULT_TYPE; "custom" enables the
	// env-configured vault.
	VaultType string
	// CustomBaseURL and CustomToken configure the env-configured vault.
	// CustomToken is a secret: never log it.
	CustomBaseURL string
	CustomToken   Secret
	// AllowedHosts are host names and CIDR prefixes exempt from the
	// address rules for custom credential services.
	AllowedHosts []string
	// CustomTimeout bounds every request to a custom credential service.
	CustomTimeout time.Duration
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// MetricsAddr, when set, is a separate listen address serving
	// /metrics, which the main listener then does not serve.
	MetricsAddr string
	// CORSOrigins are the exact origins (scheme://host[:port]) whose
	// browsers may call the API, or "*"; empty disables CORS.
	CORSOrigins []string
	// RateConfig limits, per organization, the configuration routes that
	// call out to a service (save, test, clear).
	RateConfig Rate
	// RateCredentials limits, per organization, credential and folder
	// writes and pushed TOTP codes.
	RateCredentials Rate
	// RateReads limits, per organization, the reads that reach its
	// custom credential service (TOTP codes).
	RateReads Rate
	// CacheGrace is how long cached reads (API keys, credential rows,
	// configurations) keep being served while the database cannot be
	// reached; 0 drops them at once.
	CacheGrace time.Duration
	// OutboxLease is how long a deletion one process's worker claimed is
	// hidden from the others; a process killed holding one leaves it to
	// another once the lease ends.
	OutboxLease time.Duration
	// CreateLease is how long a create a process sent is its own; past
	// it, another process's worker recovers it (the process stopped, or
	// lost the answer). At least 2 × CustomTimeout + 15s.
	CreateLease time.Duration
	// CacheKeys, CacheRows and CacheClients bound the API-key, credential
	// row and service-client caches (0: the defaults of org, credentials
	// and orgvault); beyond them the least recently used entry goes.
	CacheKeys    int
	CacheRows    int
	CacheClients int
	// UpstreamConnsPerHost caps the connections to one credential service
	// host, all of which may stay idle (0: netpolicy.DefaultConnsPerHost).
	UpstreamConnsPerHost int
	// PprofAddr, when set, is a loopback listen address serving Go's
	// /debug/pprof profiles (off by default).
	PprofAddr string
	// NoReadBack turns off reading every created or updated item back
	// and comparing it with what was sent (CREDVAULT_READ_BACK=off), for
	// services known to answer GET with less than they store. On by
	// default: a service that silently drops fields then fails the write
	// (502 naming the fields) instead of losing them.
	NoReadBack bool
	// DBTimeout bounds every database statement (a transaction: three
	// times it): a database link that goes dark then answers 503 with
	// Retry-After within it instead of holding requests (default 5s).
	DBTimeout time.Duration
	// ShutdownDrain is how long `credvault serve` keeps serving after
	// SIGTERM, readiness 503 and keep-alives off, before it stops
	// accepting (default 2s; 0: at once).
	ShutdownDrain time.Duration
	// AuditRetention is how long audit events are kept; the worker prunes
	// older ones hourly (default 400 days, at least a day).
	AuditRetention time.Duration
	// TLSCertFile and TLSKeyFile make `credvault serve` serve HTTPS (both
	// or neither; re-read on SIGHUP).
	TLSCertFile, TLSKeyFile string
	// CustomCAFile, CustomClientCertFile and CustomClientKeyFile are the
	// env-configured service's CA bundle and client certificate and key
	// (PEM files; the certificate and key go together).
	CustomCAFile, CustomClientCertFile, CustomClientKeyFile string
	// fromEnv says the Config came from the environment (Parse): its
	// errors name variables; a Config built in Go gets errors naming its
	// fields.
	fromEnv bool
}

// Default is the configuration credvault runs with when nothing is set:
// the embedded database under DefaultDataDir, DefaultAddr, the default
// timeout, log level and rate limits. An embedding backend starts from it
// and sets what it needs.
func Default() Config {
	return Config{DataDir: DefaultDataDir, Addr: DefaultAddr, CustomTimeout: DefaultTimeout, LogLevel: "info",
		RateConfig: DefaultRateConfig, RateCredentials: DefaultRateCredentials, RateReads: DefaultRateReads,
		CacheGrace: DefaultCacheGrace, OutboxLease: DefaultOutboxLease, CreateLease: DefaultCreateLease, DBTimeout: DefaultDBTimeout,
		AuditRetention: DefaultAuditRetention}
}

// WithDefaults returns c with every zero field that has a default set to
// it (Default): a Config built in Go need not spell them out.
func (c Config) WithDefaults() Config {
	d := Default()
	if c.DataDir == "" {
		c.DataDir = d.DataDir
	}
	if c.Addr == "" {
		c.Addr = d.Addr
	}
	if c.CustomTimeout == 0 {
		c.CustomTimeout = d.CustomTimeout
	}
	if c.LogLevel == "" {
		c.LogLevel = d.LogLevel
	}
	if c.OutboxLease == 0 {
		c.OutboxLease = d.OutboxLease
	}
	if c.CreateLease == 0 {
		c.CreateLease = d.CreateLease
	}
	if c.DBTimeout == 0 {
		c.DBTimeout = d.DBTimeout
	}
	if c.AuditRetention == 0 {
		c.AuditRetention = d.AuditRetention
	}
	if c.CacheKeys == 0 {
		c.CacheKeys = DefaultCacheKeys
	}
	if c.CacheRows == 0 {
		c.CacheRows = DefaultCacheRows
	}
	if c.CacheClients == 0 {
		c.CacheClients = DefaultCacheClients
	}
	if c.UpstreamConnsPerHost == 0 {
		c.UpstreamConnsPerHost = DefaultConnsPerHost
	}
	if c.RateConfig == (Rate{}) {
		c.RateConfig = d.RateConfig
	}
	if c.RateCredentials == (Rate{}) {
		c.RateCredentials = d.RateCredentials
	}
	if c.RateReads == (Rate{}) {
		c.RateReads = d.RateReads
	}
	return c
}

// fieldOf names each variable's Config field, for errors about a Config
// built in Go.
var fieldOf = map[string]string{
	EnvDatabaseURL: "DatabaseURL", EnvAddr: "Addr", EnvKeysetFile: "KeysetFile", EnvKeyset: "Keyset",
	EnvVaultType: "VaultType", EnvCustomBaseURL: "CustomBaseURL", EnvCustomToken: "CustomToken",
	EnvAllowedHosts: "AllowedHosts", EnvCustomTimeout: "CustomTimeout", EnvDataDir: "DataDir", EnvLogLevel: "LogLevel",
	EnvMetricsAddr: "MetricsAddr", EnvCORSOrigins: "CORSOrigins", EnvRateConfig: "RateConfig",
	EnvRateCredentials: "RateCredentials", EnvRateReads: "RateReads", EnvCacheGrace: "CacheGrace", EnvOutboxLease: "OutboxLease", EnvCreateLease: "CreateLease",
	EnvCacheKeys: "CacheKeys", EnvCacheRows: "CacheRows", EnvCacheClients: "CacheClients",
	EnvConnsPerHost: "UpstreamConnsPerHost", EnvPprofAddr: "PprofAddr", EnvReadBack: "NoReadBack", EnvDBTimeout: "DBTimeout", EnvShutdownDrain: "ShutdownDrain",
	EnvAuditRetention: "AuditRetention", EnvTLSCertFile: "TLSCertFile", EnvTLSKeyFile: "TLSKeyFile",
	EnvCustomCAFile: "CustomCAFile", EnvCustomClientCertFile: "CustomClientCertFile", EnvCustomClientKeyFile: "CustomClientKeyFile",
}

// name is how errors about c call the setting of env: the variable when c
// came from the environment, else "Config.<Field>".
func (c Config) name(env string) string {
	if f, ok := fieldOf[env]; ok && !c.fromEnv {
		return "Config." + f
	}
	return env
}

// Rate is a token-bucket limit: PerSecond sustained, Burst at once.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Default rate limits.
var (
	DefaultRateConfig      = Rate{PerSecond: 5, Burst: 20}
	DefaultRateCredentials = Rate{PerSecond: 50, Burst: 200}
	DefaultRateReads       = Rate{PerSecond: 20, Burst: 100}
)

// ParseRate reads "N/s:B", "N/m:B" or "N/h:B" (N requests per second,
// minute or hour, bursts of B; ":B" optional, default max(1, N per
// second)).
func ParseRate(v string) (Rate, error) {
	bad := fmt.Errorf("%q is not a rate such as 5/s:20 (requests per s, m or h, then an optional :burst)", v)
	spec, burstPart, hasBurst := strings.Cut(strings.TrimSpace(v), ":")
	num, unit, ok := strings.Cut(spec, "/")
	if !ok {
		return Rate{}, bad
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || n <= 0 || n > 1e6 {
		return Rate{}, bad
	}
	switch unit {
	case "s":
	case "m":
		n /= 60
	case "h":
		n /= 3600
	default:
		return Rate{}, bad
	}
	r := Rate{PerSecond: n, Burst: max(1, int(n))}
	if hasBurst {
		b, err := strconv.Atoi(burstPart)
		if err != nil || b < 1 || b > 1e6 {
			return Rate{}, bad
		}
		r.Burst = b
	}
	return r, nil
}

// Embedded reports whether the embedded SQLite database is selected.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// EnvVaultEnabled reports whether the env-configured custom vault is on.
func (c Config) EnvVaultEnabled() bool { return c.VaultType == VaultTypeCustom }

// String describes the configuration without any secret.
func (c Config) String() string {
	db := "embedded sqlite"
	if !c.Embedded() {
		db = "postgres"
	}
	return fmt.Sprintf("config{db=%s addr=%s vault_type=%q}", db, c.Addr, c.VaultType)
}

// LogValue is the configuration as a log shows it: every setting but the
// secrets (the database URL's password, the keyset, the env service's
// token), whose presence alone is shown.
func (c Config) LogValue() slog.Value {
	c = c.WithDefaults() // the effective values
	db := "embedded sqlite"
	if !c.Embedded() {
		db = "postgres"
		if u, err := url.Parse(c.DatabaseURL.Reveal()); err == nil {
			db = "postgres://" + u.Host + u.Path
		}
	}
	keyset := "generated under data_dir"
	switch {
	case c.KeysetFile != "":
		keyset = c.KeysetFile
	case c.Keyset != "":
		keyset = "inline (" + EnvKeyset + ")"
	}
	rate := func(r Rate) string { return fmt.Sprintf("%g/s:%d", r.PerSecond, r.Burst) }
	attrs := []slog.Attr{
		slog.String("database", db), slog.String("data_dir", c.DataDir), slog.String("addr", c.Addr),
		slog.String("keyset", keyset), slog.String("vault_type", c.VaultType),
		slog.Any("allowed_hosts", c.AllowedHosts), slog.String("custom_timeout", c.CustomTimeout.String()),
		slog.String("log_level", c.LogLevel), slog.String("metrics_addr", c.MetricsAddr), slog.Any("cors_origins", c.CORSOrigins),
		slog.String("rate_limit_config", rate(c.RateConfig)), slog.String("rate_limit_credentials", rate(c.RateCredentials)),
		slog.String("rate_limit_reads", rate(c.RateReads)), slog.String("cache_grace", c.CacheGrace.String()),
		slog.String("outbox_lease", c.OutboxLease.String()), slog.String("create_lease", c.CreateLease.String()),
		slog.Int("cache_keys", c.CacheKeys), slog.Int("cache_rows", c.CacheRows), slog.Int("cache_clients", c.CacheClients),
		slog.Int("upstream_conns_per_host", c.UpstreamConnsPerHost), slog.String("pprof_addr", c.PprofAddr),
		slog.Bool("read_back", !c.NoReadBack), slog.String("db_timeout", c.DBTimeout.String()),
		slog.String("shutdown_drain", c.ShutdownDrain.String()), slog.String("audit_retention", Days(c.AuditRetention)),
	}
	if c.EnvVaultEnabled() {
		attrs = append(attrs, slog.String("custom_credential_api_base_url", c.CustomBaseURL), slog.Bool("custom_credential_api_token_set", c.CustomToken != ""))
	}
	return slog.GroupValue(attrs...)
}

// SQLitePath is where the embedded database lives.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "credvault.db") }

// GeneratedKeysetPath is where the embedded default generates its keyset.
func (c Config) GeneratedKeysetPath() string { return filepath.Join(c.DataDir, "keyset.json") }

// FromEnv reads the process environment.
func FromEnv() (Config, error) { return Parse(os.LookupEnv) }

// Parse builds a Config from lookup (os.LookupEnv in production, a map in
// tests) and validates it as a whole.
func Parse(lookup func(string) (string, bool)) (Config, error) {
	p := parser{envconf.New(lookup)}
	c := Config{
		DatabaseURL:          SecretURL(p.Secret(EnvDatabaseURL)),
		DataDir:              p.String(EnvDataDir, DefaultDataDir),
		Addr:                 p.String(EnvAddr, DefaultAddr),
		KeysetFile:           p.String(EnvKeysetFile, ""),
		Keyset:               Secret(p.String(EnvKeyset, "")),
		VaultType:            strings.ToLower(p.String(EnvVaultType, "")),
		CustomBaseURL:        p.String(EnvCustomBaseURL, ""),
		CustomToken:          Secret(p.Secret(EnvCustomToken)),
		AllowedHosts:         p.list(EnvAllowedHosts),
		CustomTimeout:        p.duration(EnvCustomTimeout, DefaultTimeout),
		LogLevel:             strings.ToLower(p.String(EnvLogLevel, "info")),
		MetricsAddr:          p.String(EnvMetricsAddr, ""),
		CORSOrigins:          p.origins(EnvCORSOrigins),
		RateConfig:           p.rate(EnvRateConfig, DefaultRateConfig),
		RateCredentials:      p.rate(EnvRateCredentials, DefaultRateCredentials),
		RateReads:            p.rate(EnvRateReads, DefaultRateReads),
		CacheGrace:           p.duration(EnvCacheGrace, DefaultCacheGrace),
		OutboxLease:          p.duration(EnvOutboxLease, DefaultOutboxLease),
		CreateLease:          p.duration(EnvCreateLease, DefaultCreateLease),
		CacheKeys:            p.integer(EnvCacheKeys),
		CacheRows:            p.integer(EnvCacheRows),
		CacheClients:         p.integer(EnvCacheClients),
		UpstreamConnsPerHost: p.integer(EnvConnsPerHost),
		PprofAddr:            p.String(EnvPprofAddr, ""),
		NoReadBack:           !p.onOff(EnvReadBack, true),
		DBTimeout:            p.duration(EnvDBTimeout, DefaultDBTimeout),
		AuditRetention:       p.days(EnvAuditRetention, DefaultAuditRetention),
		TLSCertFile:          p.String(EnvTLSCertFile, ""),
		TLSKeyFile:           p.String(EnvTLSKeyFile, ""),
		CustomCAFile:         p.String(EnvCustomCAFile, ""),
		CustomClientCertFile: p.String(EnvCustomClientCertFile, ""),
		CustomClientKeyFile:  p.String(EnvCustomClientKeyFile, ""),
		ShutdownDrain:        p.duration(EnvShutdownDrain, DefaultDrain),
		fromEnv:              true,
	}
	p.Fail(c.Validate())
	return c, p.Err()
}

// Validate checks the relations between fields, reporting every problem
// at once. Errors name environment variables for a Config from Parse, and
// Config fields for one built in Go; zero fields that have a default
// (WithDefaults) are accepted.
func (c Config) Validate() error {
	var errs []error
	for _, check := range []func() []error{c.checkStorage, c.checkEnvVault, c.checkDurations, c.checkListeners, c.checkSizes, c.checkLogLevel, c.checkTLS} {
		errs = append(errs, check()...)
	}
	return errors.Join(errs...)
}

// checkStorage checks the database URL and the keyset source.
func (c Config) checkStorage() []error {
	n := c.name
	var errs []error
	if err := envconf.CheckDatabaseURL(n(EnvDatabaseURL), c.DatabaseURL.Reveal()); err != nil {
		errs = append(errs, err)
	}
	if c.KeysetFile != "" && c.Keyset != "" {
		errs = append(errs, fmt.Errorf("%s and %s are both set: choose one", n(EnvKeysetFile), n(EnvKeyset)))
	}
	return errs
}

// checkEnvVault checks the env-configured service: its type, and its URL
// and token, which go together.
func (c Config) checkEnvVault() []error {
	n := c.name
	switch c.VaultType {
	case "", "none":
	case VaultTypeCustom:
		var errs []error
		if c.CustomBaseURL == "" {
			errs = append(errs, fmt.Errorf("%s=custom needs %s", n(EnvVaultType), n(EnvCustomBaseURL)))
		}
		if c.CustomToken == "" {
			errs = append(errs, fmt.Errorf("%s=custom needs %s", n(EnvVaultType), n(EnvCustomToken)))
		}
		return errs
	default:
		return []error{fmt.Errorf("%s: unknown vault type %q (supported: custom)", n(EnvVaultType), c.VaultType)}
	}
	switch {
	case c.CustomBaseURL != "" && c.CustomToken != "" && c.VaultType == "":
		// Both set and no type: surely meant as the env service, which is
		// off without the type.
		return []error{fmt.Errorf("%s is missing: %s and %s are set, but the env-configured service is used only with %s=custom",
			n(EnvVaultType), n(EnvCustomBaseURL), n(EnvCustomToken), n(EnvVaultType))}
	case (c.CustomBaseURL == "") != (c.CustomToken == ""):
		// One of the pair without the other is a mistake whatever the type.
		missing := n(EnvCustomToken)
		if c.CustomBaseURL == "" {
			missing = n(EnvCustomBaseURL)
		}
		return []error{fmt.Errorf("%s is missing: %s and %s go together", missing, n(EnvCustomBaseURL), n(EnvCustomToken))}
	}
	return nil
}

// checkDurations checks every duration against its range.
func (c Config) checkDurations() []error {
	n := c.name
	var errs []error
	if c.CustomTimeout < 0 || c.CustomTimeout > 5*time.Minute || (c.fromEnv && c.CustomTimeout == 0) {
		errs = append(errs, fmt.Errorf("%s: must be between 1ms and 5m", n(EnvCustomTimeout)))
	}
	if c.OutboxLease != 0 && (c.OutboxLease < time.Second || c.OutboxLease > time.Hour) {
		errs = append(errs, fmt.Errorf("%s: must be between 1s and 1h", n(EnvOutboxLease)))
	}
	if c.CreateLease != 0 {
		timeout := c.CustomTimeout
		if timeout == 0 {
			timeout = DefaultTimeout
		}
		if min := 2*timeout + 15*time.Second; c.CreateLease < min || c.CreateLease > time.Hour {
			errs = append(errs, fmt.Errorf("%s: must be between %v (2 × %s + 15s) and 1h", n(EnvCreateLease), min, n(EnvCustomTimeout)))
		}
	}
	for _, d := range []struct {
		env  string
		v    time.Duration
		max  time.Duration
		text string
	}{
		{EnvShutdownDrain, c.ShutdownDrain, time.Minute, "1m"},
		{EnvDBTimeout, c.DBTimeout, time.Minute, "1m"},
		{EnvCacheGrace, c.CacheGrace, 10 * time.Minute, "10m"},
	} {
		if d.v < 0 || d.v > d.max {
			errs = append(errs, fmt.Errorf("%s: must be between 0 and %s", n(d.env), d.text))
		}
	}
	if c.AuditRetention != 0 && (c.AuditRetention < 24*time.Hour || c.AuditRetention > 100*365*24*time.Hour) {
		errs = append(errs, fmt.Errorf("%s: must be between 1d and 36500d", n(EnvAuditRetention)))
	}
	return errs
}

// checkListeners checks the metrics and pprof addresses: well formed,
// pprof on loopback only, and each its own.
func (c Config) checkListeners() []error {
	n := c.name
	var errs []error
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("%s: must be host:port, such as 127.0.0.1:9100", n(EnvMetricsAddr)))
		} else if c.MetricsAddr == c.Addr {
			errs = append(errs, fmt.Errorf("%s: must differ from %s", n(EnvMetricsAddr), n(EnvAddr)))
		}
	}
	if c.PprofAddr != "" {
		if err := checkLoopbackAddr(c.PprofAddr); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n(EnvPprofAddr), err))
		} else if c.PprofAddr == c.Addr || c.PprofAddr == c.MetricsAddr {
			errs = append(errs, fmt.Errorf("%s: must differ from %s and %s", n(EnvPprofAddr), n(EnvAddr), n(EnvMetricsAddr)))
		}
	}
	return errs
}

// checkSizes checks the caches' and the upstream pool's sizes.
func (c Config) checkSizes() []error {
	n := c.name
	var errs []error
	for _, env := range []string{EnvCacheKeys, EnvCacheRows, EnvCacheClients} {
		v := map[string]int{EnvCacheKeys: c.CacheKeys, EnvCacheRows: c.CacheRows, EnvCacheClients: c.CacheClients}[env]
		if v < 0 || v > 10_000_000 {
			errs = append(errs, fmt.Errorf("%s: must be between 1 and 10000000 entries", n(env)))
		}
	}
	if c.UpstreamConnsPerHost < 0 || c.UpstreamConnsPerHost > 4096 {
		errs = append(errs, fmt.Errorf("%s: must be between 1 and 4096", n(EnvConnsPerHost)))
	}
	return errs
}

// checkTLS checks that the TLS files that go together are set together.
func (c Config) checkTLS() []error {
	n := c.name
	var errs []error
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		errs = append(errs, fmt.Errorf("%s and %s go together", n(EnvTLSCertFile), n(EnvTLSKeyFile)))
	}
	if (c.CustomClientCertFile == "") != (c.CustomClientKeyFile == "") {
		errs = append(errs, fmt.Errorf("%s and %s go together", n(EnvCustomClientCertFile), n(EnvCustomClientKeyFile)))
	}
	if (c.CustomCAFile != "" || c.CustomClientCertFile != "") && !c.EnvVaultEnabled() {
		errs = append(errs, fmt.Errorf("%s, %s and %s configure the env-configured service: set %s=custom with it",
			n(EnvCustomCAFile), n(EnvCustomClientCertFile), n(EnvCustomClientKeyFile), n(EnvVaultType)))
	}
	return errs
}

// checkLogLevel checks the log level ("" only from Go: the default).
func (c Config) checkLogLevel() []error {
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
		return nil
	case "":
		if !c.fromEnv {
			return nil
		}
	}
	return []error{fmt.Errorf("%s: must be debug, info, warn or error", c.name(EnvLogLevel))}
}

// checkLoopbackAddr accepts host:port whose host is a loopback IP literal
// or "localhost": profiles reveal the program's internals, so they are
// never served beyond the machine.
func checkLoopbackAddr(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return errors.New("must be host:port on loopback, such as 127.0.0.1:6060")
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address: profiles are served on loopback only (127.0.0.1, ::1 or localhost)", host)
	}
	return nil
}

func (p *parser) list(name string) []string {
	var out []string
	for _, part := range strings.Split(p.String(name, ""), ",") {
		if part = strings.ToLower(strings.TrimSpace(part)); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func (p *parser) rate(name string, def Rate) Rate {
	v := p.String(name, "")
	if v == "" {
		return def
	}
	r, err := ParseRate(v)
	if err != nil {
		p.Fail(fmt.Errorf("%s: %w", name, err))
		return def
	}
	return r
}

// origins reads exact browser origins: "*" or scheme://host[:port].
func (p *parser) origins(name string) []string {
	var out []string
	for _, part := range strings.Split(p.String(name, ""), ",") {
		o := strings.TrimSpace(part)
		if o == "" {
			continue
		}
		if o == "*" {
			out = append(out, o)
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") ||
			u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.Contains(u.Host, "*") {
			p.Fail(fmt.Errorf("%s: %q is not an origin such as https://app.example.com", name, o))
			continue
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out
}

// integer reads a whole number (0 when unset).
func (p *parser) integer(name string) int {
	v := p.String(name, "")
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil || n < 1 {
		p.Fail(fmt.Errorf("%s: %q is not a positive whole number", name, v))
		return 0
	}
	return n
}

// days reads a duration that may also be written in days ("400d").
func (p *parser) days(name string, def time.Duration) time.Duration {
	v := p.String(name, "")
	if v == "" {
		return def
	}
	if n, ok := strings.CutSuffix(v, "d"); ok {
		if d, err := strconv.Atoi(n); err == nil && d > 0 && d < 100_000 {
			return time.Duration(d) * 24 * time.Hour
		}
	} else if d, err := time.ParseDuration(v); err == nil {
		return d
	}
	p.Fail(fmt.Errorf("%s: %q is not a duration such as 400d or 720h", name, v))
	return def
}

// Days writes d in whole days when it is one ("400d"), else as Go does.
func Days(d time.Duration) string {
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := p.String(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.Fail(fmt.Errorf("%s: %q is not a duration such as 10s", name, v))
		return def
	}
	return d
}

// onOff reads an on/off switch (on, off, true, false, 1, 0).
func (p *parser) onOff(name string, def bool) bool {
	v, ok := p.Lookup(name)
	if !ok || strings.TrimSpace(v) == "" {
		return def
	}
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "on", "true", "1", "yes":
		return true
	case "off", "false", "0", "no":
		return false
	}
	p.Fail(fmt.Errorf("%s: must be on or off", name))
	return def
}

// parser reads the variables of Config, collecting every error.
type parser struct{ *envconf.Env }

package config_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/config"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseDefaults(t *testing.T) {
	c, err := config.Parse(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8000" || !c.Embedded() || c.CustomTimeout != 10*time.Second || c.EnvVaultEnabled() {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestParseErrorsNameTheVariable(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "tok")
	if err := os.WriteFile(tokenFile, []byte("file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		want string // substring of the error; "" = no error
	}{
		{"custom without url", map[string]string{"CREDENTIAL_VAULT_TYPE": "custom", "CUSTOM_CREDENTIAL_API_TOKEN": "t"}, "CUSTOM_CREDENTIAL_API_BASE_URL"},
		{"custom without token", map[string]string{"CREDENTIAL_VAULT_TYPE": "custom", "CUSTOM_CREDENTIAL_API_BASE_URL": "https://x"}, "CUSTOM_CREDENTIAL_API_TOKEN"},
		{"url without token", map[string]string{"CUSTOM_CREDENTIAL_API_BASE_URL": "https://x"}, "CUSTOM_CREDENTIAL_API_TOKEN"},
		{"unknown vault type", map[string]string{"CREDENTIAL_VAULT_TYPE": "bitwarden"}, "CREDENTIAL_VAULT_TYPE"},
		{"bad timeout", map[string]string{"CUSTOM_CREDENTIAL_TIMEOUT": "soon"}, "CUSTOM_CREDENTIAL_TIMEOUT"},
		{"bad db url", map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL"},
		{"bad cors origin", map[string]string{"CREDVAULT_CORS_ORIGINS": "https://ok.example.com,app.example.com/x"}, "CREDVAULT_CORS_ORIGINS"},
		{"cors wildcard host", map[string]string{"CREDVAULT_CORS_ORIGINS": "https://*.example.com"}, "CREDVAULT_CORS_ORIGINS"},
		{"bad rate", map[string]string{"CREDVAULT_RATE_LIMIT_CONFIG": "fast"}, "CREDVAULT_RATE_LIMIT_CONFIG"},
		{"bad burst", map[string]string{"CREDVAULT_RATE_LIMIT_CREDENTIALS": "5/s:0"}, "CREDVAULT_RATE_LIMIT_CREDENTIALS"},
		{"both keysets", map[string]string{"CREDVAULT_KEYSET": "{}", "CREDVAULT_KEYSET_FILE": "/x"}, "CREDVAULT_KEYSET"},
		{"token file missing", map[string]string{"CUSTOM_CREDENTIAL_API_TOKEN_FILE": "/nonexistent/tok", "CUSTOM_CREDENTIAL_API_BASE_URL": "https://x"}, "CUSTOM_CREDENTIAL_API_TOKEN_FILE"},
		{"pprof beyond loopback", map[string]string{"CREDVAULT_PPROF_ADDR": "0.0.0.0:6060"}, "CREDVAULT_PPROF_ADDR"},
		{"pprof by name", map[string]string{"CREDVAULT_PPROF_ADDR": "db.internal:6060"}, "CREDVAULT_PPROF_ADDR"},
		{"pprof on the main address", map[string]string{"CREDVAULT_PPROF_ADDR": "127.0.0.1:8000"}, "CREDVAULT_PPROF_ADDR"},
		{"cache size not a number", map[string]string{"CREDVAULT_CACHE_ROWS": "lots"}, "CREDVAULT_CACHE_ROWS"},
		{"cache size zero", map[string]string{"CREDVAULT_CACHE_KEYS": "0"}, "CREDVAULT_CACHE_KEYS"},
		{"cache size too large", map[string]string{"CREDVAULT_CACHE_CLIENTS": "100000000"}, "CREDVAULT_CACHE_CLIENTS"},
		{"conns per host too large", map[string]string{"CREDVAULT_UPSTREAM_CONNS_PER_HOST": "100000"}, "CREDVAULT_UPSTREAM_CONNS_PER_HOST"},
		{"token from file", map[string]string{"CREDENTIAL_VAULT_TYPE": "custom", "CUSTOM_CREDENTIAL_API_TOKEN_FILE": tokenFile, "CUSTOM_CREDENTIAL_API_BASE_URL": "https://x"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse(env(tc.env))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.CustomToken != "file-token" {
					t.Fatalf("token from file = %q", c.CustomToken)
				}
				if strings.Contains(c.String(), "file-token") {
					t.Fatal("Config.String shows the token")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestCacheAndProfileKnobs(t *testing.T) {
	c, err := config.Parse(env(map[string]string{"CREDVAULT_CACHE_KEYS": "1_000", "CREDVAULT_CACHE_ROWS": "2000",
		"CREDVAULT_CACHE_CLIENTS": "300", "CREDVAULT_UPSTREAM_CONNS_PER_HOST": "256", "CREDVAULT_PPROF_ADDR": "[::1]:6060"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.CacheKeys != 1000 || c.CacheRows != 2000 || c.CacheClients != 300 || c.UpstreamConnsPerHost != 256 || c.PprofAddr != "[::1]:6060" {
		t.Fatalf("knobs: %+v", c)
	}
	if _, err := config.Parse(env(map[string]string{"CREDVAULT_PPROF_ADDR": "localhost:6060"})); err != nil {
		t.Fatal(err)
	}
}

func TestRatesAndOrigins(t *testing.T) {
	c, err := config.Parse(func(k string) (string, bool) {
		v, ok := map[string]string{"CREDVAULT_RATE_LIMIT_CONFIG": "10/m:5", "CREDVAULT_CORS_ORIGINS": "https://App.example.com/, http://localhost:8080"}[k]
		return v, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.RateConfig != (config.Rate{PerSecond: 10.0 / 60, Burst: 5}) || c.RateCredentials != config.DefaultRateCredentials {
		t.Fatalf("rates = %+v %+v", c.RateConfig, c.RateCredentials)
	}
	if strings.Join(c.CORSOrigins, " ") != "https://app.example.com http://localhost:8080" {
		t.Fatalf("origins = %v", c.CORSOrigins)
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]config.Rate{"5/s:20": {PerSecond: 5, Burst: 20}, "120/m": {PerSecond: 2, Burst: 2},
		"36/h:3": {PerSecond: 0.01, Burst: 3}} {
		if got, err := config.ParseRate(in); err != nil || got != want {
			t.Errorf("ParseRate(%q) = %+v %v, want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "5", "5/d", "-1/s", "5/s:x", "0/s"} {
		if _, err := config.ParseRate(bad); err == nil {
			t.Errorf("ParseRate(%q) accepted", bad)
		}
	}
}

// TestConfigBuiltInGo: Default is valid as it is; a Config built in Go
// gets errors naming its fields, not environment variables, all at once;
// zero fields that have a default are filled by WithDefaults.
func TestConfigBuiltInGo(t *testing.T) {
	if err := config.Default().Validate(); err != nil {
		t.Fatalf("Default: %v", err)
	}
	var zero config.Config
	if err := zero.Validate(); err != nil {
		t.Fatalf("a zero Config (defaults fill it): %v", err)
	}
	if d := zero.WithDefaults(); d.LogLevel != "info" || d.CustomTimeout != config.DefaultTimeout || d.DataDir != config.DefaultDataDir || d.RateReads != config.DefaultRateReads {
		t.Fatalf("WithDefaults: %+v", d)
	}
	c := config.Default()
	c.DatabaseURL = "mysql://x"
	c.VaultType = "custom"
	c.LogLevel = "loud"
	err := c.Validate()
	for _, want := range []string{"Config.DatabaseURL", "Config.CustomBaseURL", "Config.CustomToken", "Config.LogLevel"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not name %s", err, want)
		}
	}
	if err != nil && strings.Contains(err.Error(), "DATABASE_URL") {
		t.Errorf("a Config built in Go is told about environment variables: %v", err)
	}
}

// TestVaultTypeMissing: a base URL and token without the vault type is a
// start-up error naming the missing variable.
func TestVaultTypeMissing(t *testing.T) {
	env := map[string]string{"CUSTOM_CREDENTIAL_API_BASE_URL": "https://creds.example.com/api", "CUSTOM_CREDENTIAL_API_TOKEN": "tok-0123456789abcdef"}
	_, err := config.Parse(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err == nil || !strings.Contains(err.Error(), "CREDENTIAL_VAULT_TYPE is missing") {
		t.Fatalf("base URL and token without the type: %v", err)
	}
}

// TestConfigLogValueHasNoSecret: the start-up log of the configuration
// shows every setting but no secret.
func TestConfigLogValueHasNoSecret(t *testing.T) {
	c := config.Default()
	c.DatabaseURL = "postgres://user:db-password-42@127.0.0.1:5432/credvault?password=query-secret-7"
	c.Keyset = `{"key":"keyset-material-9"}`
	c.VaultType, c.CustomBaseURL, c.CustomToken = "custom", "https://creds.example.com/api", "env-token-secret-3"
	var b strings.Builder
	slog.New(slog.NewJSONHandler(&b, nil)).Info("start", slog.Any("config", c))
	out := b.String()
	for _, secret := range []string{"db-password-42", "query-secret-7", "keyset-material-9", "env-token-secret-3", "user:"} {
		if strings.Contains(out, secret) {
			t.Fatalf("the configuration log shows a secret: %s", out)
		}
	}
	for _, want := range []string{`"database":"postgres://127.0.0.1:5432/credvault"`, `"custom_credential_api_token_set":true`, `"rate_limit_reads":"20/s:100"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the configuration log lacks %s: %s", want, out)
		}
	}
}

// TestTheStartUpLineShowsEffectiveValues: nothing set, the logged
// configuration shows the defaults in force, not zeros; each matches the
// default of the package that uses it.
func TestTheStartUpLineShowsEffectiveValues(t *testing.T) {
	var buf strings.Builder
	c, err := config.Parse(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("start", slog.Any("config", c))
	for _, want := range []string{`"cache_keys":100000`, `"cache_rows":50000`, `"cache_clients":20000`, `"upstream_conns_per_host":128`,
		`"db_timeout":"5s"`, `"shutdown_drain":"2s"`, `"read_back":true`} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("start-up line lacks %s: %s", want, buf.String())
		}
	}
}

// TestAConfigNeverPrintsItsSecrets: every printing form of a Config (and
// of a pointer to one) — fmt's verbs, JSON, slog — hides the service
// token, the inline keyset and the database password.
func TestAConfigNeverPrintsItsSecrets(t *testing.T) {
	c := config.Default()
	c.CustomToken = "tok-SECRET-0123456789"
	c.Keyset = `{"primaryKeyId":1,"key":[{"keyData":{"value":"KEYSET-SECRET"}}]}`
	c.DatabaseURL = "postgres://app:DBPASS-SECRET@127.0.0.1:5432/credvault?sslmode=disable&sslpassword=SSLPASS-SECRET"
	secrets := []string{"tok-SECRET", "KEYSET-SECRET", "DBPASS-SECRET", "SSLPASS-SECRET"}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	jp, _ := json.Marshal(&c)
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", slog.Any("config", c))
	forms := map[string]string{"json": string(j), "json pointer": string(jp), "slog": logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%10v", "%T %v"} {
		forms[verb] = fmt.Sprintf(verb, c)
		forms[verb+" pointer"] = fmt.Sprintf(verb, &c)
		// Each secret field alone, as a value and in a slice or a map.
		for name, field := range map[string]any{"token": c.CustomToken, "keyset": c.Keyset, "database": c.DatabaseURL} {
			forms[verb+" "+name] = fmt.Sprintf(verb, field)
			forms[verb+" "+name+" in a slice"] = fmt.Sprintf(verb, []any{field})
			forms[verb+" "+name+" in a map"] = fmt.Sprintf(verb, map[string]any{"k": field})
		}
	}
	for name, field := range map[string]any{"token": c.CustomToken, "keyset": c.Keyset, "database": c.DatabaseURL} {
		b, _ := json.Marshal(map[string]any{"k": field})
		forms["json "+name] = string(b)
		var l strings.Builder
		slog.New(slog.NewTextHandler(&l, nil)).Info("x", "field", field)
		forms["slog text "+name] = l.String()
		forms["Sprint "+name] = fmt.Sprint(field)
		forms["Sprintln "+name] = fmt.Sprintln(field)
	}
	for form, out := range forms {
		for _, s := range secrets {
			for _, enc := range []string{s, strings.ToUpper(s), fmt.Sprintf("%x", s), fmt.Sprintf("%X", s)} {
				if strings.Contains(out, enc) {
					t.Fatalf("%s shows a secret: %s", form, out)
				}
			}
		}
	}
	if !strings.Contains(forms["%#v"], "CustomToken:[redacted]") || !strings.Contains(forms["%#v"], "app:xxxxx@127.0.0.1") ||
		!strings.Contains(forms["json"], `"Keyset":"[redacted]"`) {
		t.Fatalf("the redacted forms do not say what is set: %s %s", forms["%#v"], forms["json"])
	}
	if c.CustomToken.Reveal() != "tok-SECRET-0123456789" || !strings.Contains(c.DatabaseURL.Reveal(), "DBPASS-SECRET") {
		t.Fatal("Reveal does not return the value")
	}
	var unset config.Secret
	if fmt.Sprint(unset) != "" || fmt.Sprintf("%q", config.Config{}.Keyset) != "" {
		t.Fatal("an unset secret prints as set")
	}
}

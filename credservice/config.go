package credservice

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/credvault/credvault/sealed"

	"github.com/credvault/credvault/internal/envconf"
	"github.com/credvault/credvault/internal/keyring"
)

// Environment variables of the credential-service command.
const (
	EnvAddr        = "CREDENTIAL_SERVICE_ADDR"
	EnvTokens      = "CREDENTIAL_SERVICE_TOKENS"
	EnvTokensFile  = "CREDENTIAL_SERVICE_TOKENS_FILE"
	EnvDatabaseURL = "DATABASE_URL"
	EnvKeysetFile  = "CREDENTIAL_SERVICE_KEYSET_FILE"
	EnvDataDir     = "CREDENTIAL_SERVICE_DATA_DIR"
	// EnvTLSCertFile and EnvTLSKeyFile serve HTTPS (both, or neither);
	// EnvClientCAFile then requires client certificates signed by that CA.
	// All three are re-read on SIGHUP.
	EnvTLSCertFile  = "CREDENTIAL_SERVICE_TLS_CERT_FILE"
	EnvTLSKeyFile   = "CREDENTIAL_SERVICE_TLS_KEY_FILE"
	EnvClientCAFile = "CREDENTIAL_SERVICE_CLIENT_CA_FILE"
)

// DefaultDataDir is where the embedded database and its generated keyset
// live when CREDENTIAL_SERVICE_DATA_DIR is not set.
const DefaultDataDir = "credential-service-data"

// Config is the credential-service's configuration.
type Config struct {
	Addr        string
	Tokens      []string // secret
	TokensFile  string   // re-read on SIGHUP
	DatabaseURL string
	KeysetFile  string
	DataDir     string
	// TLSCertFile, TLSKeyFile and ClientCAFile: see EnvTLSCertFile.
	TLSCertFile, TLSKeyFile, ClientCAFile string
}

// ConfigFromEnv reads and validates the environment through lookup.
func ConfigFromEnv(lookup func(string) (string, bool)) (Config, error) {
	env := envconf.New(lookup)
	c := Config{
		Addr: env.String(EnvAddr, "127.0.0.1:8081"), TokensFile: env.String(EnvTokensFile, ""),
		DatabaseURL: env.Secret(EnvDatabaseURL), KeysetFile: env.String(EnvKeysetFile, ""),
		DataDir:     env.String(EnvDataDir, DefaultDataDir),
		TLSCertFile: env.String(EnvTLSCertFile, ""), TLSKeyFile: env.String(EnvTLSKeyFile, ""), ClientCAFile: env.String(EnvClientCAFile, ""),
	}
	switch {
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		env.Fail(fmt.Errorf("%s and %s go together", EnvTLSCertFile, EnvTLSKeyFile))
	case c.ClientCAFile != "" && c.TLSCertFile == "":
		env.Fail(fmt.Errorf("%s needs %s and %s: client certificates are verified over HTTPS only", EnvClientCAFile, EnvTLSCertFile, EnvTLSKeyFile))
	}
	tokens := env.String(EnvTokens, "")
	switch {
	case tokens != "" && c.TokensFile != "":
		env.Fail(fmt.Errorf("%s and %s are both set: choose one", EnvTokens, EnvTokensFile))
	case c.TokensFile != "":
		toks, err := ReadTokensFile(c.TokensFile)
		if err != nil {
			env.Fail(err)
		}
		c.Tokens = toks
	default:
		c.Tokens = ParseTokens(tokens)
		if len(c.Tokens) == 0 {
			env.Fail(fmt.Errorf("%s is required: a comma-separated list of accepted API tokens", EnvTokens))
		} else if err := CheckTokens(c.Tokens); err != nil {
			env.Fail(fmt.Errorf("%s: %w", EnvTokens, err))
		}
	}
	if err := envconf.CheckDatabaseURL(EnvDatabaseURL, c.DatabaseURL); err != nil {
		env.Fail(err)
	}
	return c, env.Err()
}

// MinTokenLength is the shortest accepted API token.
const MinTokenLength = 16

// CheckTokens applies the token rules: at least one, each at least
// MinTokenLength characters of printable text. The same rules apply at
// start-up and on every reload.
func CheckTokens(tokens []string) error {
	n := 0
	for _, t := range tokens {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		n++
		if !utf8.ValidString(t) {
			return errors.New("tokens must be valid UTF-8 text")
		}
		// Characters, not bytes: six invisible characters are not a token.
		if utf8.RuneCountInString(t) < MinTokenLength {
			return fmt.Errorf("every token must be at least %d characters", MinTokenLength)
		}
		if strings.IndexFunc(t, invisible) >= 0 {
			return errors.New("tokens must be printable text without spaces: no control, format (such as U+200B) or separator characters")
		}
	}
	if n == 0 {
		return errors.New("at least one token is required")
	}
	return nil
}

// invisible reports a character a token may not hold: control (Cc),
// format (Cf: zero-width and direction marks) and separator (Z*: every
// kind of space), which a person cannot see or type reliably.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Z) || r == utf8.RuneError
}

// ReadTokensFile reads accepted tokens, one per line or comma-separated,
// and checks them (CheckTokens). Errors name CREDENTIAL_SERVICE_TOKENS_FILE.
func ReadTokensFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read %s", EnvTokensFile, path)
	}
	toks := ParseTokens(string(b))
	if len(toks) == 0 {
		return nil, fmt.Errorf("%s: %s holds no token", EnvTokensFile, path)
	}
	if err := CheckTokens(toks); err != nil {
		return nil, fmt.Errorf("%s: %s: %w", EnvTokensFile, path, err)
	}
	return toks, nil
}

// LoadKeyring applies the keyset rules: the keyset file if set; with the
// embedded database, one generated once under DataDir; with PostgreSQL and
// no keyset, an error naming CREDENTIAL_SERVICE_KEYSET_FILE.
func (c Config) LoadKeyring() (k sealed.Sealer, generatedAt string, err error) {
	src := keyring.Source{File: c.KeysetFile}
	if c.DatabaseURL == "" {
		src.GenerateAt = filepath.Join(c.DataDir, "keyset.json")
	}
	kr, generated, err := keyring.Load(src)
	if errors.Is(err, keyring.ErrNoKeyset) {
		return nil, "", fmt.Errorf("%s is required with DATABASE_URL; create one with `credvault keys init --out FILE`", EnvKeysetFile)
	}
	if err != nil {
		return nil, "", err
	}
	if generated {
		generatedAt = src.GenerateAt
	}
	return kr, generatedAt, nil
}

// SQLitePath is the embedded database file.
func (c Config) SQLitePath() string { return filepath.Join(c.DataDir, "credential-service.db") }

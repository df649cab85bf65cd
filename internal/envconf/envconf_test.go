package envconf_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/envconf"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestEnvReadsValuesSecretsAndFiles(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte("  from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, []byte(strings.Repeat("x", envconf.MaxFileLength+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	e := envconf.New(lookup(map[string]string{"ADDR": "  :9000 ", "BLANK": "   ", "TOKEN_FILE": tokenFile,
		"BOTH": "a", "BOTH_FILE": tokenFile, "BIG_FILE": big, "MISSING_FILE": filepath.Join(dir, "none")}))
	if got := e.String("ADDR", "x"); got != ":9000" {
		t.Errorf("String trims: %q", got)
	}
	if got := e.String("BLANK", "def"); got != "def" {
		t.Errorf("a blank value takes the default: %q", got)
	}
	if got := e.Secret("TOKEN"); got != "from-a-file" {
		t.Errorf("Secret from NAME_FILE: %q", got)
	}
	if e.Err() != nil {
		t.Fatalf("no error yet: %v", e.Err())
	}
	e.Secret("BOTH")
	e.Secret("BIG")
	e.Secret("MISSING")
	e.Fail(nil)
	err := e.Err()
	for _, want := range []string{"BOTH and BOTH_FILE are both set", "BIG_FILE: ", "larger than 64 KiB", "MISSING_FILE: cannot open"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("errors %v lack %q", err, want)
		}
	}
	if strings.Count(err.Error(), "\n") != 2 {
		t.Errorf("want three errors, one per variable: %v", err)
	}
}

func TestCheckDatabaseURLNamesTheVariableOnly(t *testing.T) {
	for _, ok := range []string{"", "postgres://u:p@127.0.0.1/db", "postgresql://127.0.0.1/db"} {
		if err := envconf.CheckDatabaseURL("DATABASE_URL", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	err := envconf.CheckDatabaseURL("DATABASE_URL", "mysql://u:SECRET@127.0.0.1/db")
	if err == nil || !strings.Contains(err.Error(), "DATABASE_URL") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("a wrong scheme: %v", err)
	}
}

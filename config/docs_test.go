package config_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/config"
)

// docDefaults is what the configuration page must say each variable
// defaults to, read from the code.
func docDefaults() map[string]string {
	d := config.Default()
	return map[string]string{
		config.EnvAddr:            d.Addr,
		config.EnvDataDir:         d.DataDir,
		config.EnvLogLevel:        d.LogLevel,
		config.EnvCustomTimeout:   short(d.CustomTimeout),
		config.EnvRateConfig:      rate(d.RateConfig),
		config.EnvRateCredentials: rate(d.RateCredentials),
		config.EnvRateReads:       rate(d.RateReads),
		config.EnvCacheGrace:      short(d.CacheGrace),
		config.EnvOutboxLease:     short(d.OutboxLease),
		config.EnvCreateLease:     short(d.CreateLease),
		config.EnvDBTimeout:       short(d.DBTimeout),
		config.EnvShutdownDrain:   short(config.DefaultDrain),
		config.EnvCacheKeys:       strconv.Itoa(config.DefaultCacheKeys),
		config.EnvCacheRows:       strconv.Itoa(config.DefaultCacheRows),
		config.EnvCacheClients:    strconv.Itoa(config.DefaultCacheClients),
		config.EnvConnsPerHost:    strconv.Itoa(config.DefaultConnsPerHost),
		config.EnvReadBack:        "on",
		config.EnvAuditRetention:  config.Days(d.AuditRetention),
	}
}

// short writes d as the docs do: 2m, 1m30s, 10s.
func short(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func rate(r config.Rate) string { return fmt.Sprintf("%g/s:%d", r.PerSecond, r.Burst) }

// docs returns every documentation page's text by name.
func docs(t *testing.T) map[string]string {
	t.Helper()
	names, err := filepath.Glob("../docs/*.md")
	if err != nil || len(names) == 0 {
		t.Fatalf("no docs: %v", err)
	}
	out := map[string]string{}
	for _, n := range append(names, "../README.md") {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(n)] = string(b)
	}
	return out
}

var tableRow = regexp.MustCompile("(?m)^\\| `([A-Z_]+)`[^|]*\\| ([^|]*) \\|")

// Every number the docs state about the configuration is the code's: the
// variable table's defaults, every "VAR, default X" in prose, and the
// connections per service host.
func TestTheDocsStateTheDefaults(t *testing.T) {
	pages := docs(t)
	table := map[string]string{}
	for _, m := range tableRow.FindAllStringSubmatch(pages["CONFIGURATION.md"], -1) {
		table[m[1]] = strings.Trim(m[2], "` ")
	}
	for env, want := range docDefaults() {
		got, ok := table[env]
		if !ok {
			t.Errorf("CONFIGURATION.md has no row for %s", env)
			continue
		}
		if got != want {
			t.Errorf("CONFIGURATION.md: %s defaults to %q, the code to %q", env, got, want)
		}
	}
	prose := regexp.MustCompile("`([A-Z_]+)`,? \\(?default `([^`]+)`")
	perHost := regexp.MustCompile(`(\d[\d,]*) (?:connections|requests are in flight)(?: per| to one)(?: service)? host`)
	for name, text := range pages {
		for _, m := range prose.FindAllStringSubmatch(text, -1) {
			if want, ok := docDefaults()[m[1]]; ok && m[2] != want {
				t.Errorf("%s: %s, default %q; the code's is %q", name, m[1], m[2], want)
			}
		}
		for _, m := range perHost.FindAllStringSubmatch(text, -1) {
			if n := strings.ReplaceAll(m[1], ",", ""); n != strconv.Itoa(config.DefaultConnsPerHost) {
				t.Errorf("%s: %q; the code allows %d per host", name, m[0], config.DefaultConnsPerHost)
			}
		}
	}
}

// Every variable the code reads has a row in the configuration page.
func TestEveryVariableIsDocumented(t *testing.T) {
	pages := docs(t)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "config.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "Env") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					continue
				}
				env, _ := strconv.Unquote(lit.Value)
				n++
				if !strings.Contains(pages["CONFIGURATION.md"], "| `"+env+"`") {
					t.Errorf("%s (%s) has no row in CONFIGURATION.md", env, name.Name)
				}
			}
		}
	}
	if n < 20 {
		t.Fatalf("found only %d variables in config.go", n)
	}
}

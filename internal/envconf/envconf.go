// Package envconf reads environment variables as credvault's binaries do
// — values trimmed, defaults for unset or blank ones, a secret from NAME
// or from the file NAME_FILE names — collecting every error, so a
// misconfigured start names every wrong variable at once. It is the one
// parser of the credvault server (package config) and the reference
// credential-service, which share nothing else of their configuration.
package envconf

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// FileSuffix marks the variable naming a file that holds a secret
// (DATABASE_URL_FILE).
const FileSuffix = "_FILE"

// MaxFileLength is the largest secret file read (64 KiB).
const MaxFileLength = 64 << 10

// Env reads variables through a lookup function and collects errors.
type Env struct {
	lookup func(string) (string, bool)
	errs   []error
}

// New reads through lookup (os.LookupEnv in production).
func New(lookup func(string) (string, bool)) *Env { return &Env{lookup: lookup} }

// Lookup is name's raw value and whether it is set.
func (e *Env) Lookup(name string) (string, bool) { return e.lookup(name) }

// String is name's value, trimmed, or def when it is unset or blank.
func (e *Env) String(name, def string) string {
	if v, ok := e.lookup(name); ok && strings.TrimSpace(v) != "" {
		return strings.TrimSpace(v)
	}
	return def
}

// Secret is name's value or, when it is unset, the content of the file
// name_FILE names (trimmed); both set is an error.
func (e *Env) Secret(name string) string {
	v := e.String(name, "")
	file := e.String(name+FileSuffix, "")
	switch {
	case v != "" && file != "":
		e.Fail(fmt.Errorf("%s and %s are both set: choose one", name, name+FileSuffix))
		return v
	case file == "":
		return v
	}
	b, err := readSmallFile(file)
	if err != nil {
		e.Fail(fmt.Errorf("%s: %w", name+FileSuffix, err))
		return ""
	}
	return strings.TrimSpace(string(b))
}

// Fail records an error about a variable.
func (e *Env) Fail(err error) {
	if err != nil {
		e.errs = append(e.errs, err)
	}
}

// Err is every error recorded, joined (nil when none).
func (e *Env) Err() error { return errors.Join(e.errs...) }

// CheckDatabaseURL accepts "" (the embedded database) or a postgres://
// URL; the error names the variable, never the value.
func CheckDatabaseURL(name, v string) error {
	if v == "" {
		return nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("%s: must be a postgres:// URL", name)
	}
	return nil
}

func readSmallFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", path, errors.Unwrap(err))
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileLength+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read %s", path)
	}
	if len(b) > MaxFileLength {
		return nil, fmt.Errorf("%s is larger than 64 KiB", path)
	}
	return b, nil
}

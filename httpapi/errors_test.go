package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/org"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/netpolicy"
)

// statusTable is every exported error of credvault (and each error type
// in its usual forms) with the status it is answered with. Its keys are
// the errors' qualified names: TestEveryExportedErrorHasAStatus fails when
// an exported error is added without an entry here.
var statusTable = map[string]struct {
	err    error
	status int
}{
	"problem.ErrInvalid":      {problem.ErrInvalid, 400},
	"problem.ErrUnauthorized": {problem.ErrUnauthorized, 401},
	"problem.ErrForbidden":    {problem.ErrForbidden, 403},
	"problem.ErrNotFound":     {problem.ErrNotFound, 404},
	"problem.ErrConflict":     {problem.ErrConflict, 409},
	"problem.ErrBadGateway":   {problem.ErrBadGateway, 502},
	"problem.ErrUnreachable":  {problem.ErrUnreachable, 503},
	"problem.ErrUnavailable":  {problem.ErrUnavailable, 503},
	"*problem.InvalidError":   {problem.Invalid("name", "is required"), 400},
	"*problem.ForbiddenError": {problem.Forbidden("source", "not proven"), 403},
	"*problem.StateError":     {&problem.StateError{Reason: "save a configuration first"}, 409},

	"store.ErrNotFound":        {store.ErrNotFound, 404},
	"store.ErrConflict":        {store.ErrConflict, 409},
	"store.ErrFolderNotFound":  {store.ErrFolderNotFound, 404},
	"store.ErrUnavailable":     {store.ErrUnavailable, 503},
	"store.ErrCommitUnknown":   {store.ErrCommitUnknown, 503},
	"store.ErrCreateTakenOver": {store.ErrCreateTakenOver, 409},
	"store.ErrCreateBusy":      {store.ErrCreateBusy, 409},

	"org.ErrUnauthorized":    {org.ErrUnauthorized, 401},
	"org.ErrNoConfiguration": {org.ErrNoConfiguration, 404},
	"org.ErrInvalidName":     {org.ErrInvalidName, 400},
	"org.ErrKeyExpired":      {org.ErrKeyExpired, 401},

	"vault.ErrNotConfigured":          {vault.ErrNotConfigured, 400},
	"vault.ErrItemGone":               {vault.ErrItemGone, 502},
	"vault.ErrContractViolation":      {vault.ErrContractViolation, 502},
	"vault.ErrUpstream":               {vault.ErrUpstream, 502},
	"vault.ErrTimeout":                {vault.ErrTimeout, 503},
	"vault.ErrSourceUnavailable":      {vault.ErrSourceUnavailable, 409},
	"vault.ErrReplayUnsupported":      {vault.ErrReplayUnsupported, 500},
	"*vault.SourceUnavailableError":   {&vault.SourceUnavailableError{Source: "tok_1", Reason: "it was deleted"}, 409},
	"*vault.ContractError":            {&vault.ContractError{Op: "get", Problem: "no type"}, 502},
	"*vault.NotStoredError":           {&vault.NotStoredError{Op: "create", Fields: []string{"card_number"}}, 502},
	"*vault.TimeoutError":             {&vault.TimeoutError{Op: "get"}, 503},
	"*vault.UpstreamError status":     {&vault.UpstreamError{Op: "get", StatusCode: 500}, 502},
	"*vault.UpstreamError refused":    {&vault.UpstreamError{Op: "get", Message: "connection refused", Retryable: true}, 503},
	"*vault.UpstreamError unsent":     {&vault.UpstreamError{Op: "create", Message: "tls", Unsent: true}, 502},
	"*vault.UpstreamError unresolved": {&vault.UpstreamError{Op: "get", Message: "cannot resolve host x", Unsent: true, Unresolved: true}, 503},
	"*netpolicy.AddressError": {&vault.UpstreamError{Op: "get", Unsent: true,
		Err: &netpolicy.AddressError{Host: "10.0.0.1", Port: 443}}, 502},

	"netpolicy.ErrAddressNotAllowed": {fmt.Errorf("dial: %w", netpolicy.ErrAddressNotAllowed), 500},

	"*credentials.ItemMissingError": {&credentials.ItemMissingError{}, 502},

	"httpapi.ErrDraining":       {ErrDraining, 503},
	"keyring.ErrDecrypt":        {keyring.ErrDecrypt, 500},
	"keyring.ErrNoKeyset":       {keyring.ErrNoKeyset, 500},
	"keyring.ErrNotReencrypted": {keyring.ErrNotReencrypted, 500},
	"context.Canceled":          {context.Canceled, 499},
	"*echo.HTTPError":           {echo.NewHTTPError(http.StatusMethodNotAllowed), 405},
}

// The status depends on the error alone: bare, wrapped once or twice, or
// joined after an error without a kind, each answers the same.
func TestEveryErrorMapsToItsStatus(t *testing.T) {
	for name, c := range statusTable {
		forms := []error{c.err, fmt.Errorf("op: %w", c.err), fmt.Errorf("outer: %w", fmt.Errorf("inner: %w", c.err)),
			errors.Join(errors.New("no kind"), c.err)}
		for i, err := range forms {
			if got, _ := statusOf(err); got != c.status {
				t.Errorf("%s (form %d): status %d, want %d", name, i, got, c.status)
			}
		}
	}
}

// A wrapper's kind wins over its cause's, whichever kinds they are: the
// outermost error with a kind decides.
func TestTheOutermostKindDecides(t *testing.T) {
	inner := store.ErrNotFound
	outer := &wrapped{kind: vault.ErrItemGone, cause: inner}
	if got, _ := statusOf(outer); got != 502 {
		t.Errorf("an item gone wrapping a row not found: %d, want 502", got)
	}
	outer = &wrapped{kind: problem.ErrNotFound, cause: vault.ErrItemGone}
	if got, _ := statusOf(outer); got != 404 {
		t.Errorf("a not-found wrapping an item gone: %d, want 404", got)
	}
}

type wrapped struct{ kind, cause error }

func (w *wrapped) Error() string        { return w.kind.Error() + ": " + w.cause.Error() }
func (w *wrapped) Is(target error) bool { return target == w.kind || errors.Is(w.kind, target) }
func (w *wrapped) Unwrap() error        { return w.cause }

// Each error is of at most one kind, and every kind has an answer.
func TestEachErrorHasOneKind(t *testing.T) {
	for _, k := range problem.Kinds {
		if _, ok := answers[k]; !ok {
			t.Errorf("kind %q has no answer", k)
		}
	}
	for name, c := range statusTable {
		n := 0
		for _, k := range problem.Kinds {
			if is, ok := c.err.(interface{ Is(error) bool }); c.err == k || ok && is.Is(k) {
				n++
			}
		}
		if n > 1 {
			t.Errorf("%s is of %d kinds", name, n)
		}
	}
}

// Texts: a client sees what the error says for clients, its kind's text
// otherwise, and never an internal text behind a 5xx of credvault's own.
func TestTheClientSeesOnlyWhatIsMeantForIt(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("decode: %w", problem.Invalid("name", "is required")), "name: is required"},
		{fmt.Errorf("get row cred_1: %w", store.ErrNotFound), "not found"},
		{fmt.Errorf("update: %w", store.ErrCreateBusy), "the resource was changed concurrently; retry"},
		{fmt.Errorf("select 1: %w", store.ErrUnavailable), "the database is unreachable; retry in a few seconds"},
		{vault.ErrNotConfigured, vault.ErrNotConfigured.Error()},
		{fmt.Errorf("lookup: %w", org.ErrUnauthorized), org.ErrUnauthorized.Error()},
		{vault.ErrItemGone, "Custom credential service returned 404: the stored item no longer exists"},
		{fmt.Errorf("pq: password=hunter2: %w", keyring.ErrDecrypt), "internal server error"},
	} {
		if _, got := statusOf(c.err); got != c.want {
			t.Errorf("%v: text %q, want %q", c.err, got, c.want)
		}
	}
}

// Every exported error variable and error type of the module has an entry
// in statusTable.
func TestEveryExportedErrorHasAStatus(t *testing.T) {
	var missing []string
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && (d.Name() == "e2e" || d.Name() == "cmd" || strings.HasPrefix(d.Name(), ".")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		if f.Name.Name == "main" || strings.Contains(path, "credservice") || strings.Contains(path, "fakeservice") {
			return nil // the reference service and the fakes answer for themselves
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				switch s := spec.(type) {
				case *ast.ValueSpec:
					for _, n := range s.Names {
						if n.IsExported() && strings.HasPrefix(n.Name, "Err") {
							missing = appendMissing(missing, f.Name.Name+"."+n.Name)
						}
					}
				case *ast.TypeSpec:
					if s.Name.IsExported() && strings.HasSuffix(s.Name.Name, "Error") {
						missing = appendMissing(missing, "*"+f.Name.Name+"."+s.Name.Name)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Errorf("exported errors without a status in statusTable: %v", missing)
	}
}

// commandOnly are the errors of the admin commands (package credvault,
// which imports this one): they never reach an HTTP answer.
var commandOnly = []string{"credvault.ErrNoDatabase", "credvault.ErrBackupPostgres"}

func appendMissing(missing []string, name string) []string {
	if slices.Contains(commandOnly, name) {
		return missing
	}
	for key := range statusTable {
		if key == name || strings.HasPrefix(key, name+" ") {
			return missing
		}
	}
	return append(missing, name)
}

func TestDuplicateKeysAreNamed(t *testing.T) {
	for _, c := range []struct {
		body, want string
	}{
		{`{"name":"a","name":"b"}`, "name"},
		{`{"config":{"api_base_url":"x","api_token":"a","api_token":"b"}}`, "config.api_token"},
		{`{"sources":[{"api_base_url":"x"},{"api_token":"t","api_token":"u"}]}`, "sources[1].api_token"},
		{`{"a":[1,{"b":2}],"c":{"d":[{"e":1,"e":2}]}}`, "c.d[0].e"},
		{`{"credential":{"metadata":{"k":"1","k":"2"}}}`, "credential.metadata.k"},
	} {
		if got, ok := duplicateKey([]byte(c.body)); !ok || got != c.want {
			t.Errorf("%s: %q %v, want %q", c.body, got, ok, c.want)
		}
	}
	for _, body := range []string{`{"name":"a","credential":{"name":"b"}}`, `[{"a":1},{"a":2}]`, `{"a":{"x":1},"b":{"x":1}}`, `"x"`, `{}`} {
		if got, ok := duplicateKey([]byte(body)); ok {
			t.Errorf("%s: found %q, want none", body, got)
		}
	}
}

// FuzzDuplicateKey: any JSON document is walked without a panic, and a
// key it names is one the document holds twice.
func FuzzDuplicateKey(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":[{"b":1,"b":2}]}`, `[[{}],{"x":{"y":[1,2,{"z":0}]}}]`, `{"\u0061":1,"a":2}`, `{}`, `1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if !json.Valid(body) {
			return
		}
		path, ok := duplicateKey(body)
		if ok && path == "" {
			t.Fatalf("a duplicate without a name in %q", body)
		}
	})
}

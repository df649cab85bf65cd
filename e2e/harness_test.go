package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credvault/credvault"
	"github.com/credvault/credvault/config"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/store/sqlstore"
)

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is a credvault platform over a real database, served by
// httptest, with its logs captured.
type harness struct {
	t    testing.TB
	p    *credvault.Platform
	srv  *httptest.Server
	logs *syncBuffer
}

// loopbackConfig is testConfig with services on 127.0.0.1 allowed (the
// fakes and reference services the tests start).
func loopbackConfig(t testing.TB, kind testdb.Kind) config.Config {
	t.Helper()
	cfg := testConfig(t, kind)
	cfg.AllowedHosts = []string{"127.0.0.1"}
	return cfg
}

func newHarness(t testing.TB, kind testdb.Kind, tweak ...func(o *credvault.Options)) *harness {
	t.Helper()
	cfg := loopbackConfig(t, kind)
	cfg.CustomTimeout = 500 * time.Millisecond
	return newHarnessWithConfig(t, cfg, tweak...)
}

func newHarnessWithConfig(t testing.TB, cfg config.Config, tweak ...func(o *credvault.Options)) *harness {
	t.Helper()
	logs := &syncBuffer{}
	opts := credvault.Options{
		Logger:  slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Migrate: true,
	}
	for _, f := range tweak {
		f(&opts)
	}
	p := openPlatform(t, cfg, opts)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return &harness{t: t, p: p, srv: srv, logs: logs}
}

// org creates an organization and returns its id and API key.
func (h *harness) org(name string) (string, string) {
	h.t.Helper()
	c, err := h.p.Organizations.Create(context.Background(), name)
	if err != nil {
		h.t.Fatal(err)
	}
	return c.OrganizationID, c.APIKey
}

type response struct {
	status int
	body   []byte
	header http.Header
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not a JSON object (%d): %s", r.status, r.body)
	}
	return m
}

// detail is the words an error answer carries: its detail, or the
// message of a structured one ({"error_code", "message"}).
func (r response) detail() string {
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	if d, ok := m["detail"].(map[string]any); ok {
		s, _ := d["message"].(string)
		return s
	}
	s, _ := m["detail"].(string)
	return s
}

// do sends a request; body may be nil, a string (sent raw) or a value
// (JSON-encoded).
func (h *harness) do(method, path, key string, body any) response {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	var sent []byte
	if rd != nil {
		sent, _ = io.ReadAll(rd)
		rd = bytes.NewReader(sent)
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, rd)
	if key != "" {
		req.Header.Set("x-api-key", key)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, body: b, header: resp.Header}
	// Every exchange of the e2e tests is checked against the OpenAPI
	// document, so the document cannot drift from the code.
	checkAgainstSpec(h.t, method, path, sent, req.Header, r)
	return r
}

// assertNoSecret fails if any secret appears in the captured logs or the
// database.
func (h *harness) assertNoSecret(secrets ...string) {
	h.t.Helper()
	logs := h.logs.String()
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			h.t.Errorf("a secret appears in the logs")
		}
		testdb.AssertAbsent(h.t, testStore(h.p), s)
	}
}

// update rewrites golden files and screenshots under docs/ (go test -run
// Settings -update); without it, tests never write into the work tree.
var update = flag.Bool("update", false, "rewrite screenshots under docs/")

// envHarness is a harness whose operator configured an env service (a
// fake), shared by every organization without its own configuration.
func envHarness(t *testing.T, kind testdb.Kind) (*harness, *fakeservice.Service) {
	t.Helper()
	envSvc := fakeservice.New(t, envToken)
	cfg := loopbackConfig(t, kind)
	cfg.VaultType, cfg.CustomBaseURL, cfg.CustomToken = "custom", envSvc.Base(), config.Secret(envToken)
	return newHarnessWithConfig(t, cfg), envSvc
}

// testConfig is credvault's configuration for a test on a fresh database.
func testConfig(t testing.TB, kind testdb.Kind) config.Config { return testdb.Config(t, kind) }

// stores holds, per platform a test opened, a store of its own on the same
// database: what the tests read and break behind the platform's back,
// through the public store package.
var stores sync.Map // *credvault.Platform → *sqlstore.Store

// openPlatform opens a platform on cfg, closed when t ends, with a store of
// the test's own on the same database (testStore).
func openPlatform(t testing.TB, cfg config.Config, opts credvault.Options) *credvault.Platform {
	t.Helper()
	p, err := credvault.Open(context.Background(), cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(context.Background(), sqlstore.Options{DatabaseURL: cfg.DatabaseURL.Reveal(), SQLitePath: cfg.SQLitePath(), MaxOpenConns: 4})
	if err != nil {
		p.Close()
		t.Fatal(err)
	}
	stores.Store(p, st)
	t.Cleanup(func() { p.Close(); st.Close(); stores.Delete(p) })
	return p
}

// testStore is the test's own store on p's database.
func testStore(p *credvault.Platform) *sqlstore.Store {
	st, _ := stores.Load(p)
	return st.(*sqlstore.Store)
}

package e2e

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/credservice"
	"github.com/credvault/credvault/credservice/credservicetest"
	"github.com/credvault/credvault/internal/fakeservice"
	"github.com/credvault/credvault/internal/keyring"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
)

// rowItems returns the item ids live rows point to.
func rowItems(t *testing.T, h *harness) []string {
	t.Helper()
	rows, err := testStore(h.p).ScanCredentials(t.Context(), "", "", 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range rows {
		ids = append(ids, r.ItemID)
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids []string) []string { slices.Sort(ids); return ids }

// ageCreates makes every recorded create look older than reconcile's
// grace period.
func ageCreates(t *testing.T, h *harness) {
	t.Helper()
	if _, err := testStore(h.p).SQLDB().Exec("UPDATE vault_creates SET created_at = created_at - interval '1 hour'"); err != nil {
		t.Fatal(err)
	}
}

// TestLostCreateAnswerIsRecorded: the service stores the item but its
// answer never comes. The create is recorded before it is sent and marked
// lost, survives a restart, and reconcile reports it with the key the
// item was stored under; an answer that did come settles the record.
func TestLostCreateAnswerIsRecorded(t *testing.T) {
	t.Parallel()
	cfg := loopbackConfig(t, testdb.Postgres)
	cfg.CustomTimeout = 500 * time.Millisecond
	h := newHarnessWithConfig(t, cfg)
	svc := fakeservice.New(t, svcToken)
	orgID, key := h.org("Acme")
	h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc.Base(), svcToken))
	if r := h.do("POST", "/api/v1/credentials", key, secretBody("fine", "l")); r.status != 201 {
		t.Fatalf("create = %d", r.status)
	}
	svc.LoseAnswers.Store(true)
	r := h.do("POST", "/api/v1/credentials", key, secretBody("lost", "l"))
	svc.LoseAnswers.Store(false)
	if r.status != 503 || r.header.Get("Retry-After") == "" {
		t.Fatalf("create with a lost answer = %d %s, want 503 with Retry-After", r.status, r.body)
	}
	creates, err := testStore(h.p).ListCreates(t.Context(), orgID, time.Now().Add(time.Hour), 10)
	if err != nil || len(creates) != 1 || creates[0].State != store.CreateLost || creates[0].Operation != "create" {
		t.Fatalf("recorded creates = %+v %v, want the one lost create", creates, err)
	}
	if !strings.Contains(h.logs.String(), "answer was lost") {
		t.Error("the lost answer was not logged")
	}
	// A refused create (the service answers 500) is not recorded.
	svc.Fail = func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(500)
		return r.Method == http.MethodPost
	}
	h.do("POST", "/api/v1/credentials", key, secretBody("refused", "l"))
	svc.Fail = nil

	// After a restart, reconcile reports it (once it is past the grace
	// period) and nothing else.
	ageCreates(t, h)
	b := newHarnessWithConfig(t, cfg)
	rep, err := b.p.Maintenance.Reconcile(t.Context(), credentials.ReconcileOptions{OrganizationID: orgID})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked != 1 || rep.OK != 1 || len(rep.LostCreates) != 1 || rep.LostCreates[0].IdempotencyKey != creates[0].ID || rep.Clean() {
		t.Fatalf("reconcile = %+v, want 1 ok row and the lost create", rep)
	}
	if svc.Items() != 2 {
		t.Fatalf("the service holds %d items, want the kept one and the lost one", svc.Items())
	}
}

// TestReconcileMarksDanglingRows: an item removed behind credvault's back
// is reported, --fix marks its row (reads say so), and an update with the
// secret clears the mark; rows of an earlier configuration are stale.
func TestReconcileMarksDanglingRows(t *testing.T) {
	t.Parallel()
	h, svc, orgID, key := configured(t, testdb.Postgres)
	var ids []string
	for _, body := range []map[string]any{passwordBody("Bank"), cardBody("Card"), secretBody("API", "l")} {
		ids = append(ids, h.do("POST", "/api/v1/credentials", key, body).json(t)["credential_id"].(string))
	}
	gone := ids[0]
	row, _ := testStore(h.p).GetCredential(t.Context(), orgID, gone)
	if !svc.Drop(row.ItemID) {
		t.Fatal("the item was not in the service")
	}
	rep, err := h.p.Maintenance.Reconcile(t.Context(), credentials.ReconcileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked != 3 || rep.OK != 2 || len(rep.Dangling) != 1 || rep.Dangling[0].CredentialID != gone || rep.Dangling[0].Marked || rep.Marked != 0 {
		t.Fatalf("reconcile = %+v, want one unmarked dangling row", rep)
	}
	if r := h.do("GET", "/api/v1/credentials/"+gone, key, nil); r.json(t)["item_missing_at"] != nil {
		t.Fatal("a row was marked without --fix")
	}
	rep, _ = h.p.Maintenance.Reconcile(t.Context(), credentials.ReconcileOptions{Fix: true, Concurrency: 2, Rate: 1000})
	if rep.Marked != 1 || len(rep.Dangling) != 1 || !rep.Dangling[0].Marked {
		t.Fatalf("reconcile --fix = %+v, want the row marked", rep)
	}
	if r := h.do("GET", "/api/v1/credentials/"+gone, key, nil); r.status != 200 || r.json(t)["item_missing_at"] == nil {
		t.Fatalf("GET a marked credential = %d %s, want item_missing_at", r.status, r.body)
	}
	r := h.do("GET", "/api/v1/credentials/"+gone+"/totp-code", key, nil)
	if r.status != 502 || !strings.Contains(r.detail(), "found missing by reconcile") {
		t.Fatalf("totp-code of a marked credential = %d %s", r.status, r.body)
	}
	var missing *credentials.ItemMissingError
	if _, err := h.p.Credentials.GetWithSecret(t.Context(), orgID, gone); !errors.As(err, &missing) || !errors.Is(err, vault.ErrItemGone) {
		t.Fatalf("GetWithSecret of a marked credential = %v", err)
	}
	if r := h.do("POST", "/api/v1/credentials/"+gone+"/update", key, passwordBody("Bank")); r.status != 200 || r.json(t)["item_missing_at"] != nil {
		t.Fatalf("update of a marked credential = %d %s, want the mark cleared", r.status, r.body)
	}
	rep, _ = h.p.Maintenance.Reconcile(t.Context(), credentials.ReconcileOptions{Fix: true})
	if !rep.Clean() || rep.OK != 3 || len(rep.Stale) != 0 {
		t.Fatalf("reconcile after the update = %+v, want clean", rep)
	}

	// A new configuration: the three rows are stale until migrated.
	svc2 := fakeservice.New(t, svcToken)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(svc2.Base(), svcToken)); r.status != 200 {
		t.Fatal(r.status)
	}
	rep, _ = h.p.Maintenance.Reconcile(t.Context(), credentials.ReconcileOptions{OrganizationID: orgID})
	if len(rep.Stale) != 3 || rep.OK != 3 || rep.Stale[0].Current == "" || rep.Stale[0].Current == rep.Stale[0].StoredBy {
		t.Fatalf("reconcile after a configuration change = %+v, want 3 stale rows", rep)
	}
	if got, want := sorted(svc.IDs()), rowItems(t, h); !slices.Equal(got, want) {
		t.Fatalf("service items %v, rows point to %v", got, want)
	}
}

// refService is a reference credential-service over its own schema.
type refService struct {
	*httptest.Server
	st  *credservice.Storage
	svc *credservice.Server
	// lose, while above 0, makes creates store their item and lose the
	// answer (counting down).
	lose atomic.Int32
	// fault, when set, is how the service misbehaves (see serveFault).
	fault atomic.Value
}

// serveFault answers r as the fault mode says, reporting whether it did.
// Modes: reset (the connection drops before any answer), slow (no answer
// until the client gives up, nothing stored), 5xx (503 to everything),
// garbage (creates are stored, the answer is not JSON), lost (creates are
// stored, the answer never comes), reset-after (creates are stored, the
// connection drops), delete-fail (DELETE answers 500).
func (rs *refService) serveFault(h http.Handler, w http.ResponseWriter, r *http.Request) bool {
	mode, _ := rs.fault.Load().(string)
	post := r.Method == http.MethodPost
	if mode == "slow" {
		// A server notices the client leaving only once the body is read.
		_, _ = io.Copy(io.Discard, r.Body)
	}
	drop := func() {
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
	}
	switch {
	case mode == "reset":
		drop()
	case mode == "slow":
		<-r.Context().Done()
	case mode == "5xx":
		w.WriteHeader(http.StatusServiceUnavailable)
	case mode == "garbage" && post:
		h.ServeHTTP(httptest.NewRecorder(), r)
		w.Write([]byte("<html>oops</html>"))
	case mode == "lost" && post:
		h.ServeHTTP(httptest.NewRecorder(), r)
		<-r.Context().Done()
	case mode == "reset-after" && post:
		h.ServeHTTP(httptest.NewRecorder(), r)
		drop()
	case mode == "delete-fail" && r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusInternalServerError)
	default:
		return false
	}
	return true
}

const refToken = "ref-token-0123456789abcdef"

func newRefService(t *testing.T) *refService {
	t.Helper()
	st := credservicetest.Open(t, testdb.Postgres)
	b, _ := keyring.Generate()
	kr, _ := keyring.Parse(b)
	svc, err := credservice.New(st, kr, []string{refToken}, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs := &refService{st: st, svc: svc}
	h := svc.Handler()
	rs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rs.serveFault(h, w, r) {
			return
		}
		if r.Method == http.MethodPost && rs.lose.Add(-1) >= 0 {
			h.ServeHTTP(httptest.NewRecorder(), r) // stored; the answer is lost
			<-r.Context().Done()
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(rs.Close)
	return rs
}

func (rs *refService) base() string { return rs.URL + credservice.Prefix }

func (rs *refService) items(t *testing.T) []string {
	t.Helper()
	rows, err := rs.st.SQLDB().Query("SELECT id FROM service_items")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		_ = rows.Scan(&id)
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// TestMigrateBetweenReferenceServices moves an organization's credentials
// from one reference service to another: interrupted half way (the
// process stops, then a create's answer is lost twice), then resumed over
// REST until done. Every credential keeps its secret, the old service ends
// empty, the new one holds exactly the items rows point to.
func TestMigrateBetweenReferenceServices(t *testing.T) {
	t.Parallel()
	h := newHarness(t, testdb.Postgres)
	orgID, key := h.org("Movers")
	one, two := newRefService(t), newRefService(t)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(one.base(), refToken)); r.status != 200 {
		t.Fatalf("configure: %d %s", r.status, r.body)
	}
	const n = 9
	bodies := []map[string]any{passwordBody("Bank"), cardBody("Card"), secretBody("API", "l")}
	var ids []string
	for i := range n {
		ids = append(ids, h.do("POST", "/api/v1/credentials", key, bodies[i%3]).json(t)["credential_id"].(string))
	}
	before := map[string]vault.Credential{}
	for _, id := range ids {
		c, err := h.p.Credentials.GetWithSecret(t.Context(), orgID, id)
		if err != nil {
			t.Fatal(err)
		}
		before[id] = c.Credential
	}
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(two.base(), refToken)); r.status != 200 {
		t.Fatalf("reconfigure: %d %s", r.status, r.body)
	}
	dry := h.do("POST", "/api/v1/credentials/custom_credential/migrate?dry_run=true", key, nil).json(t)
	if dry["to_move"] != float64(n) || dry["migrated"] != float64(0) || len(two.items(t)) != 0 {
		t.Fatalf("dry run = %v", dry)
	}

	// The process stops after 3 credentials.
	ctx, cancel := context.WithCancel(t.Context())
	rep, err := h.p.Maintenance.Migrate(ctx, orgID, credentials.MigrateOptions{AllSources: true, Progress: func(done, _ int) {
		if done == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || rep.Migrated != 3 {
		t.Fatalf("interrupted migration = %+v %v, want 3 moved then cancelled", rep, err)
	}
	// The next run loses one create's answer twice (the retry too): that
	// credential fails and stays; the others move.
	two.lose.Store(2)
	from := map[string]any{"sources": []any{cfgBody(one.base(), refToken)["config"]}}
	r := h.do("POST", "/api/v1/credentials/custom_credential/migrate?limit=1000", key, from).json(t)
	if r["migrated"] != float64(n-4) || len(r["failed"].([]any)) != 1 || r["remaining"] != float64(1) {
		t.Fatalf("second run = %v, want all but one moved", r)
	}
	// Resumed: the lost create is sent again under the same key and the
	// service answers with the item it stored.
	for range 5 {
		r = h.do("POST", "/api/v1/credentials/custom_credential/migrate?limit=2", key, from).json(t)
		if r["remaining"] == float64(0) {
			break
		}
	}
	if r["remaining"] != float64(0) || r["migrated"] != float64(1) {
		t.Fatalf("resumed run = %v", r)
	}
	waitFor0Pending(t, h.p, 15*time.Second, true)
	if left := one.items(t); len(left) != 0 {
		t.Fatalf("the old service still holds %d items", len(left))
	}
	if got, want := two.items(t), rowItems(t, h); !slices.Equal(got, want) || len(got) != n {
		t.Fatalf("the new service holds %v, rows point to %v", got, want)
	}
	for _, id := range ids {
		c, err := h.p.Credentials.GetWithSecret(t.Context(), orgID, id)
		if err != nil {
			t.Fatal(err)
		}
		if !sameSecrets(c.Credential, before[id]) {
			t.Fatalf("credential %s changed its secret in the move", id)
		}
	}
	if creates, _ := testStore(h.p).ListCreates(t.Context(), orgID, time.Now().Add(time.Hour), 10); len(creates) != 0 {
		t.Fatalf("creates left unsettled: %+v", creates)
	}
	events, _ := testStore(h.p).ListAuditEvents(t.Context(), orgID)
	migrated := 0
	for _, e := range events {
		if e.Action == credentials.ActionMigrate {
			migrated++
		}
	}
	if migrated != n {
		t.Fatalf("%d credential.migrate audit events, want %d", migrated, n)
	}
	rep2, err := h.p.Maintenance.Reconcile(t.Context(), credentials.ReconcileOptions{OrganizationID: orgID})
	if err != nil || !rep2.Clean() || len(rep2.Stale) != 0 || rep2.OK != n {
		t.Fatalf("reconcile after the migration = %+v %v", rep2, err)
	}
}

func sameSecrets(a, b vault.Credential) bool {
	return slices.Equal(a.SecretValues(), b.SecretValues())
}

// TestFaultMatrixConverges drives creates, updates and deletes through a
// reference service that fails in every way the contract's transport
// allows, with a process restart in the middle. No request gets a 500;
// after the faults clear, the worker runs and reconcile --fix recovers
// lost creates, the service holds exactly the items rows point to: no
// orphan, no dangling row, no create left unsettled.
func TestFaultMatrixConverges(t *testing.T) {
	t.Parallel()
	cfg := loopbackConfig(t, testdb.Postgres)
	cfg.CustomTimeout = 300 * time.Millisecond
	h := newHarnessWithConfig(t, cfg)
	orgID, key := h.org("Faults")
	rs := newRefService(t)
	if r := h.do("POST", "/api/v1/credentials/custom_credential/create", key, cfgBody(rs.base(), refToken)); r.status != 200 {
		t.Fatalf("configure = %d %s", r.status, r.body)
	}
	modes := []string{"reset", "slow", "5xx", "garbage", "lost", "reset-after", "delete-fail"}
	// Two credentials per mode to update and delete under the fault.
	victims := map[string][2]string{}
	for _, m := range modes {
		var v [2]string
		for i := range v {
			v[i] = h.do("POST", "/api/v1/credentials", key, passwordBody(m)).json(t)["credential_id"].(string)
		}
		victims[m] = v
	}
	for i, m := range modes {
		if i == len(modes)/2 {
			// The process stops in the middle of the faults; another
			// starts on the same database.
			h.srv.Close()
			h.p.Close()
			h = newHarnessWithConfig(t, cfg)
		}
		rs.fault.Store(m)
		for _, op := range []struct{ method, path string }{
			{"POST", "/api/v1/credentials"},
			{"POST", "/api/v1/credentials"},
			{"POST", "/api/v1/credentials/" + victims[m][0] + "/update"},
			{"DELETE", "/api/v1/credentials/" + victims[m][1]},
		} {
			r := h.do(op.method, op.path, key, passwordBody(m))
			if r.status == 500 {
				t.Errorf("%s: %s %s = 500 %s", m, op.method, op.path, r.body)
			}
			if op.method == "DELETE" && r.status != 204 {
				t.Errorf("%s: delete = %d, want 204 (recorded)", m, r.status)
			}
		}
		rs.fault.Store("")
	}
	// The faults clear. Every recorded deletion is retried; reconcile
	// recovers the lost creates (older than its grace period).
	waitFor0Pending(t, h.p, 20*time.Second, true)
	ageCreates(t, h)
	rep, err := h.p.Maintenance.Reconcile(t.Context(), credentials.ReconcileOptions{Fix: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.LostCreates) == 0 || rep.Recovered != len(rep.LostCreates) || !rep.Clean() {
		t.Fatalf("reconcile --fix = %+v, want every lost create recovered and nothing dangling", rep)
	}
	waitFor0Pending(t, h.p, 20*time.Second, true)
	if got, want := rs.items(t), rowItems(t, h); !slices.Equal(got, want) {
		t.Fatalf("the service holds %d items, rows point to %d: orphans %v, dangling %v", len(got), len(want),
			diff(got, want), diff(want, got))
	}
	if creates, _ := testStore(h.p).ListCreates(t.Context(), orgID, time.Now().Add(time.Hour), 100); len(creates) != 0 {
		t.Fatalf("creates left unsettled: %+v", creates)
	}
	rep, _ = h.p.Maintenance.Reconcile(t.Context(), credentials.ReconcileOptions{})
	if !rep.Clean() || len(rep.LostCreates) != 0 || rep.OK != rep.Checked {
		t.Fatalf("a second reconcile = %+v, want clean", rep)
	}
}

// diff lists what a holds and b does not.
func diff(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

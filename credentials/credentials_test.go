package credentials_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/internal/testdb"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/store/sqlstore"
	"github.com/credvault/credvault/store/storetest"
	"github.com/credvault/credvault/vault"
	"github.com/credvault/credvault/vault/contract"
)

// fakeVault is a scripted vault for unit tests: items per configuration,
// idempotency keys honoured, and hooks to fail or lose answers.
type fakeVault struct {
	mu      sync.Mutex
	current string
	items   map[vault.ItemRef]vault.Credential
	keys    map[string]vault.ItemRef
	next    int
	// afterStore, when set, runs after a create stored its item; its
	// error is the create's answer (the item stays: a lost answer).
	afterStore func(key string) error
	failDelete error
	// answer, when set, is what every create answers, whatever it stored.
	answer *vault.ItemRef
	// sent lists the Idempotency-Key of every create.
	sent []string
	// onGet, when set, runs before every read of an item.
	onGet func()
	// getErr, when set, is every read's answer.
	getErr error
}

func newFakeVault() *fakeVault {
	return &fakeVault{current: "cfg_1", items: map[vault.ItemRef]vault.Credential{}, keys: map[string]vault.ItemRef{}}
}

func (f *fakeVault) CurrentSource(context.Context, string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current, nil
}

func (f *fakeVault) Create(ctx context.Context, orgID string, c vault.Credential) (vault.ItemRef, error) {
	src, _ := f.CurrentSource(ctx, orgID)
	return f.CreateAt(ctx, orgID, src, c)
}

func (f *fakeVault) CreateAt(ctx context.Context, _ string, source string, c vault.Credential) (vault.ItemRef, error) {
	key := vault.IdempotencyKey(ctx)
	f.mu.Lock()
	f.sent = append(f.sent, key)
	ref, seen := f.keys[source+"/"+key]
	if !seen || key == "" {
		f.next++
		ref = vault.ItemRef{ID: fmt.Sprintf("item-%d", f.next), Source: source}
		f.items[ref] = c
		if key != "" {
			f.keys[source+"/"+key] = ref
		}
	}
	if f.answer != nil {
		ref = *f.answer
	}
	hook := f.afterStore
	f.mu.Unlock()
	if hook != nil {
		if err := hook(key); err != nil {
			return vault.ItemRef{}, err
		}
	}
	return ref, nil
}

func (f *fakeVault) ReplayCreate(ctx context.Context, orgID, source, key string) (vault.ItemRef, bool, error) {
	ref, err := f.CreateAt(vault.WithIdempotencyKey(ctx, key), orgID, source, vault.Credential{Type: vault.TypeSecret,
		Secret: &vault.SecretValue{Value: vault.NewSecret("placeholder")}})
	return ref, true, err
}

func (f *fakeVault) Get(_ context.Context, _ string, ref vault.ItemRef) (vault.Credential, error) {
	if f.onGet != nil {
		f.onGet()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.getErr != nil {
		return vault.Credential{}, f.getErr
	}
	c, ok := f.items[ref]
	if !ok {
		return vault.Credential{}, vault.ErrItemGone
	}
	return c, nil
}

func (f *fakeVault) Delete(_ context.Context, _ string, ref vault.ItemRef) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failDelete != nil {
		return f.failDelete
	}
	if _, ok := f.items[ref]; !ok {
		return vault.ErrItemGone
	}
	delete(f.items, ref)
	return nil
}

func (f *fakeVault) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.items)
}

// setup returns a service over a fresh SQLite store whose organizations
// org_a and org_b exist.
func setup(t *testing.T) (*credentials.Service, *sqlstore.Store, *fakeVault) {
	t.Helper()
	st := storetest.Open(t, testdb.SQLite)
	storetest.Organizations(t, st, "org_a", "org_b")
	v := newFakeVault()
	return credentials.New(credentials.Store(st), v, nil), st, v
}

func secret(name, value string) vault.Credential {
	return vault.Credential{Name: name, Type: vault.TypeSecret, Secret: &vault.SecretValue{Value: vault.NewSecret(value), Label: "l"}}
}

func exec(t *testing.T, st *sqlstore.Store, q string) {
	t.Helper()
	if _, err := st.SQLDB().Exec(q); err != nil {
		t.Fatal(err)
	}
}

// dueNow makes every recorded deletion due, as if its backoff had passed.
func dueNow(t *testing.T, st *sqlstore.Store) {
	exec(t, st, "UPDATE vault_deletions SET next_attempt_at = '2000-01-01 00:00:00+00:00'")
}

func TestRowWriteFailureDeletesTheNewItem(t *testing.T) {
	t.Parallel()
	svc, st, v := setup(t)
	exec(t, st, "CREATE TRIGGER fail_insert BEFORE INSERT ON credentials BEGIN SELECT RAISE(ABORT, 'disk full'); END")
	if _, err := svc.Create(t.Context(), "org_a", secret("s", "v"), credentials.Patch{}); err == nil {
		t.Fatal("create succeeded with a failing row write")
	}
	if v.count() != 0 {
		t.Fatalf("%d items left in the vault", v.count())
	}
	if ds, _ := svc.Outbox().Pending(t.Context(), 10); len(ds) != 0 {
		t.Fatalf("pending deletions %+v, want the compensation done", ds)
	}
	if cs, _ := st.ListCreates(t.Context(), "", time.Now().Add(time.Hour), 10); len(cs) != 0 {
		t.Fatalf("unsettled creates %+v", cs)
	}
}

func TestConcurrentUpdateIsAConflictAndKeepsTheOldItem(t *testing.T) {
	t.Parallel()
	svc, st, v := setup(t)
	ctx := t.Context()
	view, err := svc.Create(ctx, "org_a", secret("s", "old"), credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	v.afterStore = func(string) error { exec(t, st, "UPDATE credentials SET version = version + 1"); return nil }
	if _, err := svc.Update(ctx, "org_a", view.CredentialID, secret("s", "new"), credentials.Keep{}, credentials.Patch{}); !errors.Is(err, problem.ErrConflict) {
		t.Fatalf("update racing another writer = %v, want problem.ErrConflict", err)
	}
	v.afterStore = nil
	got, err := svc.GetWithSecret(ctx, "org_a", view.CredentialID)
	if err != nil || got.Credential.Secret.Value.Reveal() != "old" || v.count() != 1 {
		t.Fatalf("after the conflict: %v, %d items", err, v.count())
	}
}

func TestDeleteIsRecordedThenRetried(t *testing.T) {
	t.Parallel()
	svc, st, v := setup(t)
	ctx := t.Context()
	view, _ := svc.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{})
	v.failDelete = &vault.UpstreamError{Op: "delete", StatusCode: 503}
	if err := svc.Delete(ctx, "org_a", view.CredentialID); err != nil {
		t.Fatalf("delete with a refusing service = %v, want success once recorded", err)
	}
	if _, err := svc.Get(ctx, "org_a", view.CredentialID); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("Get after delete = %v, want problem.ErrNotFound", err)
	}
	ds, _ := svc.Outbox().Pending(ctx, 10)
	if len(ds) != 1 || ds[0].Attempts != 1 || ds[0].LastError == "" || v.count() != 1 {
		t.Fatalf("pending = %+v, items %d", ds, v.count())
	}
	v.failDelete = nil
	dueNow(t, st)
	if n := svc.Outbox().RunOnce(ctx); n != 1 || v.count() != 0 {
		t.Fatalf("worker tried %d, %d items left", n, v.count())
	}
	if ds, _ := svc.Outbox().Pending(ctx, 10); len(ds) != 0 {
		t.Fatalf("still pending: %+v", ds)
	}
}

func TestLostCreateIsRecoveredByReconcile(t *testing.T) {
	t.Parallel()
	svc, st, v := setup(t)
	ctx := t.Context()
	v.afterStore = func(string) error { return &vault.TimeoutError{Op: "create", After: time.Second} }
	if _, err := svc.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{}); !errors.Is(err, vault.ErrTimeout) {
		t.Fatalf("create = %v, want the timeout", err)
	}
	v.afterStore = nil
	cs, _ := st.ListCreates(ctx, "org_a", time.Now().Add(time.Hour), 10)
	if len(cs) != 1 || cs[0].State != store.CreateLost || cs[0].VaultSource != "cfg_1" || v.count() != 1 {
		t.Fatalf("creates %+v, items %d", cs, v.count())
	}
	rep, _ := svc.Maintenance().Reconcile(ctx, credentials.ReconcileOptions{Fix: true})
	if len(rep.LostCreates) != 0 {
		t.Fatalf("a create younger than the grace period was reported: %+v", rep.LostCreates)
	}
	exec(t, st, "UPDATE vault_creates SET created_at = '2000-01-01 00:00:00+00:00'")
	rep, err := svc.Maintenance().Reconcile(ctx, credentials.ReconcileOptions{Fix: true})
	if err != nil || rep.Recovered != 1 || !rep.Clean() || v.count() != 0 {
		t.Fatalf("reconcile --fix = %+v %v, items %d", rep, err, v.count())
	}
}

func TestUpdateKeepsWhatTheFormLeftOut(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	ctx := t.Context()
	pw := vault.Credential{Name: "Bank", Type: vault.TypePassword, Password: &vault.Password{Username: "u",
		Password: vault.NewSecret("p1"), TOTPType: vault.TOTPNone, Metadata: vault.Metadata{"recovery": "r"}}}
	view, err := svc.Create(ctx, "org_a", pw, credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	upd := pw
	upd.Password = &vault.Password{Username: "u", Password: vault.NewSecret("p2"), TOTPType: vault.TOTPNone}
	if _, err := svc.Update(ctx, "org_a", view.CredentialID, upd, credentials.Keep{Metadata: true}, credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	got, _ := svc.GetWithSecret(ctx, "org_a", view.CredentialID)
	if got.Credential.Password.Password.Reveal() != "p2" || got.Credential.Password.Metadata["recovery"] != "r" {
		t.Fatalf("after update: metadata %v", got.Credential.Password.Metadata)
	}
	upd.Password = &vault.Password{Username: "u", Password: vault.NewSecret("p3"), TOTPType: vault.TOTPNone}
	if _, err := svc.Update(ctx, "org_a", view.CredentialID, upd, credentials.Keep{}, credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := svc.GetWithSecret(ctx, "org_a", view.CredentialID); len(got.Credential.Password.Metadata) != 0 {
		t.Fatal("an update without Keep kept the metadata")
	}
}

func TestIdsAndOrganizationsAreChecked(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	ctx := t.Context()
	view, _ := svc.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{})
	for _, id := range []string{"\x00", "a\xffb", string(make([]byte, 200))} {
		if _, err := svc.Get(ctx, "org_a", id); !errors.Is(err, problem.ErrInvalid) {
			t.Fatalf("Get(%q) = %v, want a validation error", id, err)
		}
	}
	if _, err := svc.GetWithSecret(ctx, "org_b", view.CredentialID); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("another organization's credential = %v, want problem.ErrNotFound", err)
	}
	if err := svc.Delete(ctx, "org_b", view.CredentialID); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("deleting another organization's credential = %v", err)
	}
}

// outage is a Storage whose row writes and outbox fail as an unreachable
// database does, inside transactions too.
type outage struct {
	credentials.Storage
}

func (o outage) Tx(ctx context.Context, fn func(tx credentials.Storage) error) error {
	return o.Storage.Tx(ctx, func(tx credentials.Storage) error { return fn(outage{tx}) })
}

func (outage) CreateCredential(context.Context, store.Credential) error { return store.ErrUnavailable }
func (outage) EnqueueDeletion(context.Context, store.VaultDeletion) error {
	return store.ErrUnavailable
}

// TestDatabaseOutageAfterTheCreate: the item was stored, then neither the
// row nor the outbox can be written. The item is deleted at once; when
// that fails too, the create stays recorded and reconcile recovers it.
func TestDatabaseOutageAfterTheCreate(t *testing.T) {
	t.Parallel()
	_, st, v := setup(t)
	ctx := t.Context()
	svc := credentials.New(outage{credentials.Store(st)}, v, nil)
	if _, err := svc.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{}); !errors.Is(err, problem.ErrUnavailable) {
		t.Fatalf("create during an outage = %v, want ErrUnavailable", err)
	}
	if v.count() != 0 {
		t.Fatalf("%d items left after the direct delete", v.count())
	}
	if cs, _ := st.ListCreates(ctx, "", time.Now().Add(time.Hour), 10); len(cs) != 0 {
		t.Fatalf("a create whose item was deleted stays recorded: %+v", cs)
	}

	v.failDelete = &vault.UpstreamError{Op: "delete", StatusCode: 503}
	if _, err := svc.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{}); !errors.Is(err, problem.ErrUnavailable) {
		t.Fatal(err)
	}
	v.failDelete = nil
	cs, _ := st.ListCreates(ctx, "", time.Now().Add(time.Hour), 10)
	if len(cs) != 1 || cs[0].State != store.CreateInFlight || v.count() != 1 {
		t.Fatalf("creates %+v, items %d: the orphan must stay findable", cs, v.count())
	}
	exec(t, st, "UPDATE vault_creates SET created_at = '2000-01-01 00:00:00+00:00'")
	healthy := credentials.New(credentials.Store(st), v, nil)
	if rep, err := healthy.Maintenance().Reconcile(ctx, credentials.ReconcileOptions{Fix: true}); err != nil || rep.Recovered != 1 || v.count() != 0 {
		t.Fatalf("reconcile --fix = %+v %v, items %d", rep, err, v.count())
	}
}

// lostCommit is a Storage whose next transaction's answer is lost: it is
// committed (or rolled back, with rollback set) but its caller is told
// the commit is unknown, as a link dying at COMMIT does; with outage set,
// every transaction after it fails as an unreachable database does.
type lostCommit struct {
	credentials.Storage
	rollback, outage bool
	armed, down      *atomic.Bool
}

var errRolledBack = errors.New("rolled back")

func (l lostCommit) Tx(ctx context.Context, fn func(tx credentials.Storage) error) error {
	if l.down.Load() {
		return store.ErrUnavailable
	}
	if !l.armed.CompareAndSwap(true, false) {
		return l.Storage.Tx(ctx, fn)
	}
	err := l.Storage.Tx(ctx, func(tx credentials.Storage) error {
		if err := fn(tx); err != nil {
			return err
		}
		if l.rollback {
			return errRolledBack
		}
		return nil
	})
	if err != nil && !errors.Is(err, errRolledBack) {
		return err
	}
	l.down.Store(l.outage)
	return fmt.Errorf("store: commit: %w (%w): conn closed", store.ErrUnavailable, store.ErrCommitUnknown)
}

// TestACreateWhoseCommitIsUnknownKeepsItsItem: a create's row write is
// committed but its answer is lost. The item must not be deleted, or the
// row would point at nothing (the failover proof's dangling credential):
// with the database out, it is left to the create's recovery, which keeps
// it (the row was written, settling the create); with the database back,
// settling the create fails and the item is kept. When the commit was
// not made, the recovery deletes the item once the lease ends.
func TestACreateWhoseCommitIsUnknownKeepsItsItem(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name             string
		rollback, outage bool
	}{
		{"committed, the database out", false, true},
		{"committed, the database back", false, false},
		{"rolled back, the database out", true, true},
		{"rolled back, the database back", true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, st, v := setup(t)
			ctx := t.Context()
			armed, down := &atomic.Bool{}, &atomic.Bool{}
			armed.Store(true)
			svc := credentials.New(lostCommit{credentials.Store(st), c.rollback, c.outage, armed, down}, v, nil)
			if _, err := svc.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{}); !errors.Is(err, problem.ErrUnavailable) {
				t.Fatalf("a create whose commit is unknown = %v, want ErrUnavailable (a 503)", err)
			}
			down.Store(false)
			if v.count() != 1 && (!c.rollback || c.outage) {
				t.Fatalf("the item was deleted (%d items) before the database could say whether a row points to it", v.count())
			}
			exec(t, st, "UPDATE vault_creates SET lease_until = '2000-01-01 00:00:00+00:00'")
			svc.Maintenance().RecoverCreates(ctx)
			svc.Outbox().RunOnce(ctx)
			dueNow(t, st)
			svc.Outbox().RunOnce(ctx)
			rows, err := st.ScanCredentials(ctx, "org_a", "", 10)
			if err != nil {
				t.Fatal(err)
			}
			if c.rollback {
				if len(rows) != 0 || v.count() != 0 {
					t.Fatalf("a create that was not made left %d rows and %d items", len(rows), v.count())
				}
				return
			}
			if len(rows) != 1 {
				t.Fatalf("%d rows, want the committed one", len(rows))
			}
			got, err := svc.GetWithSecret(ctx, "org_a", rows[0].ID)
			if err != nil || got.Credential.Secret.Value.Reveal() != "v" {
				t.Fatalf("the committed credential does not read back: %v (items %d)", err, v.count())
			}
			if cs, _ := st.ListCreates(ctx, "", time.Now().Add(time.Hour), 10); len(cs) != 0 {
				t.Fatalf("the create stays recorded: %+v", cs)
			}
		})
	}
}

// failingUpdate is a Storage whose next credential row update fails as a
// locked or unreachable database does.
type failingUpdate struct {
	credentials.Storage
	fail *atomic.Bool
}

func (f failingUpdate) Tx(ctx context.Context, fn func(tx credentials.Storage) error) error {
	return f.Storage.Tx(ctx, func(tx credentials.Storage) error { return fn(failingUpdate{tx, f.fail}) })
}

func (f failingUpdate) UpdateCredential(ctx context.Context, c store.Credential, v int64) (store.Credential, error) {
	if f.fail.CompareAndSwap(true, false) {
		return store.Credential{}, store.ErrUnavailable
	}
	return f.Storage.UpdateCredential(ctx, c, v)
}

// TestRetriedUpdateAfterACompensationKeepsTheSecret drives issue 19's
// sequence: an update's row write fails, the compensation deletes the new
// item, and the caller retries. The service replays keys forever (the
// fake never forgets one), so a retry under the same key would get the
// deleted item back and the row would point at nothing. The key is
// retired with its item instead: the retry sends "<key>/a2" and the
// secret stays readable.
func TestRetriedUpdateAfterACompensationKeepsTheSecret(t *testing.T) {
	t.Parallel()
	_, st, v := setup(t)
	ctx := t.Context()
	fail := &atomic.Bool{}
	svc := credentials.New(failingUpdate{credentials.Store(st), fail}, v, nil)
	view, err := svc.Create(ctx, "org_a", secret("s", "old"), credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"update", func() error {
			_, err := svc.Update(ctx, "org_a", view.CredentialID, secret("s", "new"), credentials.Keep{}, credentials.Patch{})
			return err
		}},
		{"migrate", func() error {
			v.mu.Lock()
			v.current = "cfg_2"
			v.mu.Unlock()
			_, err := svc.Maintenance().Migrate(ctx, "org_a", credentials.MigrateOptions{AllSources: true})
			return err
		}},
	} {
		fail.Store(true)
		if err := op.run(); err == nil {
			t.Fatalf("%s with a failing row write succeeded", op.name)
		}
		if err := op.run(); err != nil {
			t.Fatalf("retried %s = %v", op.name, err)
		}
		svc.Outbox().RunOnce(ctx)
		dueNow(t, st)
		svc.Outbox().RunOnce(ctx)
		got, err := svc.GetWithSecret(ctx, "org_a", view.CredentialID)
		if err != nil || got.Credential.Secret.Value.Reveal() != "new" {
			t.Fatalf("after the retried %s: %v (keys sent %v)", op.name, err, v.sent)
		}
		if v.count() != 1 {
			t.Fatalf("after the retried %s the vault holds %d items, want 1", op.name, v.count())
		}
	}
	want := []string{view.CredentialID, view.CredentialID + "/v2", view.CredentialID + "/v2/a2"}
	if len(v.sent) < 3 || !slices.Equal(v.sent[:3], want) {
		t.Fatalf("keys sent %v, want %v first", v.sent, want)
	}
	if k := v.sent[len(v.sent)-1]; !strings.HasSuffix(k, "/a2") || !strings.Contains(k, "/m") {
		t.Fatalf("the retried migration sent %q, want a retired key's next attempt", k)
	}
}

// TestAnswerNamingADeletedItemIsRefused: a create answered with an item
// credvault recorded as deleted is refused, whatever key it carried.
func TestAnswerNamingADeletedItemIsRefused(t *testing.T) {
	t.Parallel()
	svc, _, v := setup(t)
	ctx := t.Context()
	view, err := svc.Create(ctx, "org_a", secret("s", "old"), credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Update(ctx, "org_a", view.CredentialID, secret("s", "new"), credentials.Keep{}, credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	// item-1, the replaced one, is deleted; the service now names it.
	v.answer = &vault.ItemRef{ID: "item-1", Source: "cfg_1"}
	if _, err := svc.Update(ctx, "org_a", view.CredentialID, secret("s", "newer"), credentials.Keep{}, credentials.Patch{}); !errors.Is(err, vault.ErrContractViolation) {
		t.Fatalf("update answered with a deleted item = %v, want a contract violation", err)
	}
	v.answer = nil
	got, err := svc.GetWithSecret(ctx, "org_a", view.CredentialID)
	if err != nil || got.Credential.Secret.Value.Reveal() != "new" {
		t.Fatalf("after the refused answer: %v", err)
	}
	if _, err := svc.Update(ctx, "org_a", view.CredentialID, secret("s", "newer"), credentials.Keep{}, credentials.Patch{}); err != nil {
		t.Fatalf("the retry = %v", err)
	}
	if k := v.sent[len(v.sent)-1]; k != view.CredentialID+"/v3/a2" {
		t.Fatalf("the retry sent %q, want the refused key retired", k)
	}
}

// plainVault is only a vault.CredentialVault: no sources, no replay.
type plainVault struct{ v *fakeVault }

func (p plainVault) Create(ctx context.Context, orgID string, c vault.Credential) (vault.ItemRef, error) {
	ref, err := p.v.Create(ctx, orgID, c)
	ref.Source = "single"
	return ref, err
}

func (p plainVault) Get(ctx context.Context, orgID string, ref vault.ItemRef) (vault.Credential, error) {
	ref.Source = "cfg_1"
	return p.v.Get(ctx, orgID, ref)
}

func (p plainVault) Delete(ctx context.Context, orgID string, ref vault.ItemRef) error {
	ref.Source = "cfg_1"
	return p.v.Delete(ctx, orgID, ref)
}

// TestPlainVaultWrappedForMetrics: a plain CredentialVault, made a
// SourcedVault and instrumented, serves the whole lifecycle (a vault
// wrapped for metrics used to make every create fail).
func TestPlainVaultWrappedForMetrics(t *testing.T) {
	t.Parallel()
	_, st, fake := setup(t)
	ctx := t.Context()
	reg := prometheus.NewRegistry()
	svc := credentials.New(credentials.Store(st), contract.NewMetrics(reg, func() uint64 { return 0 }).Instrument(vault.Sourced(plainVault{fake}, "single")), nil)
	view, err := svc.Create(ctx, "org_a", secret("s", "v1"), credentials.Patch{})
	if err != nil {
		t.Fatalf("create through an instrumented plain vault: %v", err)
	}
	if _, err := svc.Update(ctx, "org_a", view.CredentialID, secret("s", "v2"), credentials.Keep{}, credentials.Patch{}); err != nil {
		t.Fatalf("update: %v", err)
	}
	got, err := svc.GetWithSecret(ctx, "org_a", view.CredentialID)
	if err != nil || got.Credential.Secret.Value.Reveal() != "v2" {
		t.Fatalf("read back: %v", err)
	}
	if err := svc.Delete(ctx, "org_a", view.CredentialID); err != nil || fake.count() != 0 {
		t.Fatalf("delete: %v, %d items left", err, fake.count())
	}
	n, _ := testutil.GatherAndCount(reg, "credvault_vault_operations_total")
	if n == 0 {
		t.Fatal("no vault operation was counted")
	}
}

// TestKeptFieldsGoOnlyWhereTheirItemLives: a configuration saved between
// an update's check (the current configuration stored the item) and its
// write does not receive the fields kept from the stored item: the
// destination is decided once.
func TestKeptFieldsGoOnlyWhereTheirItemLives(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, v := setup(t)
	withMeta := vault.Credential{Name: "Bank", Type: vault.TypePassword, Password: &vault.Password{Username: "alice",
		Password: vault.NewSecret("pw-1"), TOTPType: vault.TOTPNone, Metadata: map[string]string{"pin": "4321"}}}
	view, err := svc.Create(ctx, "org_a", withMeta, credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	v.onGet = func() {
		v.mu.Lock()
		v.current = "cfg_hostile" // saved while the update reads the stored item
		v.mu.Unlock()
	}
	upd := withMeta
	upd.Password = &vault.Password{Username: "alice", Password: vault.NewSecret("pw-2"), TOTPType: vault.TOTPNone}
	if _, err := svc.Update(ctx, "org_a", view.CredentialID, upd, credentials.Keep{Metadata: true}, credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	v.onGet = nil
	v.mu.Lock()
	defer v.mu.Unlock()
	for ref, c := range v.items {
		if ref.Source == "cfg_hostile" {
			t.Fatalf("the configuration saved meanwhile received %+v", c.Password.Metadata)
		}
	}
}

// TestReconcileSaysWhichFailuresPass: a check that failed because the
// service answered 5xx or could not be reached may pass when run again
// (transient); one it refused (401) will not, and is not marked so.
func TestReconcileSaysWhichFailuresPass(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	svc, _, v := setup(t)
	if _, err := svc.Create(ctx, "org_a", secret("s", "v-1"), credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		err       error
		transient bool
	}{
		{&vault.UpstreamError{Op: "get", StatusCode: 401, Message: "rejected"}, false},
		{&vault.UpstreamError{Op: "get", StatusCode: 503, Message: "unavailable"}, true},
		{&vault.UpstreamError{Op: "get", Message: "refused", Retryable: true}, true},
	} {
		v.mu.Lock()
		v.getErr = c.err
		v.mu.Unlock()
		rep, err := svc.Maintenance().Reconcile(ctx, credentials.ReconcileOptions{OrganizationID: "org_a"})
		if err != nil || len(rep.Failed) != 1 || rep.Failed[0].Transient != c.transient {
			t.Fatalf("%v: %+v %v, want transient %v", c.err, rep.Failed, err, c.transient)
		}
	}
}

package credentials_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credvault/credvault/credentials"
	"github.com/credvault/credvault/problem"
	"github.com/credvault/credvault/store"
	"github.com/credvault/credvault/vault"
)

func field[T any](v T) credentials.Field[T] { return credentials.Field[T]{Set: true, Value: &v} }

func invalidField(err error) string {
	var inv *problem.InvalidError
	if errors.As(err, &inv) {
		return inv.Field
	}
	return "(not invalid: " + fmt.Sprint(err) + ")"
}

func password(name, seed string) vault.Credential {
	return vault.Credential{Name: name, Type: vault.TypePassword, Password: &vault.Password{Username: "alice", Password: vault.NewSecret("pw"),
		TOTP: vault.NewSecret(seed), TOTPType: vault.TOTPAuthenticator, TOTPIdentifier: "alice@example.com"}}
}

// TestListPagesFiltersAndCursors: newest first, page and page_size, the
// cursor continuing without skipping, type and text filters, a vault type
// other than custom, and every bad parameter named.
func TestListPagesFiltersAndCursors(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	ctx := t.Context()
	for i := range 5 {
		if _, err := svc.Create(ctx, "org_a", secret(fmt.Sprintf("item %d", i), "v"), credentials.Patch{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Create(ctx, "org_a", password("Bank 100%", "JBSWY3DPEHPK3PXP"), credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	p, err := svc.List(ctx, "org_a", credentials.ListOptions{PageSize: 4})
	if err != nil || len(p.Views) != 4 || p.Next == "" || p.Views[0].Name != "Bank 100%" {
		t.Fatalf("first page: %d %q %v", len(p.Views), p.Next, err)
	}
	rest, err := svc.List(ctx, "org_a", credentials.ListOptions{PageSize: 4, Cursor: p.Next})
	if err != nil || len(rest.Views) != 2 || rest.Next != "" {
		t.Fatalf("after the cursor: %d %q %v", len(rest.Views), rest.Next, err)
	}
	if p2, _ := svc.List(ctx, "org_a", credentials.ListOptions{Page: 2, PageSize: 4}); len(p2.Views) != 2 || p2.Views[0].CredentialID != rest.Views[0].CredentialID {
		t.Fatal("page 2 differs from the cursor's page")
	}
	if pw, _ := svc.List(ctx, "org_a", credentials.ListOptions{Type: vault.TypePassword}); len(pw.Views) != 1 {
		t.Fatalf("type filter: %d", len(pw.Views))
	}
	if s, _ := svc.List(ctx, "org_a", credentials.ListOptions{Search: "100%"}); len(s.Views) != 1 {
		t.Fatalf("literal search: %d", len(s.Views))
	}
	if s, _ := svc.List(ctx, "org_a", credentials.ListOptions{Search: "%"}); len(s.Views) != 1 {
		t.Fatalf("%% is literal: %d", len(s.Views))
	}
	if other, _ := svc.List(ctx, "org_a", credentials.ListOptions{VaultType: "bitwarden"}); len(other.Views) != 0 {
		t.Fatal("a vault type other than custom lists something")
	}
	if b, _ := svc.List(ctx, "org_b", credentials.ListOptions{}); len(b.Views) != 0 {
		t.Fatal("another organization's list is not empty")
	}
	for want, o := range map[string]credentials.ListOptions{
		"page":            {Page: -1},
		"page_size":       {PageSize: credentials.MaxPageSize + 1},
		"credential_type": {Type: "bogus"},
		"search":          {Search: strings.Repeat("s", 257)},
		"folder_id":       {FolderID: "f\x00"},
		"cursor":          {Cursor: "c1.not-base64!"},
	} {
		if _, err := svc.List(ctx, "org_a", o); invalidField(err) != want {
			t.Errorf("list %+v: %v, want invalid %s", o, err, want)
		}
	}
	if _, err := svc.List(ctx, "org_a", credentials.ListOptions{Page: 5000, PageSize: 100}); invalidField(err) != "page" {
		t.Errorf("a page beyond the offset bound: %v", err)
	}
}

// TestPatchAndSettings: a rename and every setting, validated and
// applied; an empty patch and a blank name are refused.
func TestPatchAndSettings(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	ctx := t.Context()
	v, err := svc.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{TestedURL: field("https://example.com/login")})
	if err != nil || v.TestedURL == nil || *v.TestedURL != "https://example.com/login" {
		t.Fatalf("create with a setting: %+v %v", v, err)
	}
	geo := json.RawMessage(`{"country":"US","subdivision":"CA","city":"San Francisco"}`)
	got, err := svc.Patch(ctx, "org_a", v.CredentialID, credentials.Patch{
		Name: field("renamed"), UserContext: field("ctx"), BrowserProfileID: field("bp_1"), AutoProfileDisabled: field(true),
		PinSavedSessionIP: field(true), SaveBrowserSessionIntent: field(true), RunSequentially: field(true),
		ProxyLocation: field(geo), ProxySessionID: field("  sess  "),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "renamed" || *got.UserContext != "ctx" || *got.BrowserProfileID != "bp_1" || !*got.AutoProfileDisabled ||
		!got.PinSavedSessionIP || !*got.SaveBrowserSessionIntent || !got.RunSequentially || *got.ProxySessionID != "sess" ||
		!strings.Contains(string(got.ProxyLocation), "San Francisco") {
		t.Fatalf("after the patch: %+v", got)
	}
	if got, _ := svc.Patch(ctx, "org_a", v.CredentialID, credentials.Patch{ProxyLocation: field(json.RawMessage(` "RESIDENTIAL" `))}); string(got.ProxyLocation) != `"RESIDENTIAL"` {
		t.Fatalf("proxy location name: %s", got.ProxyLocation)
	}
	if got, _ := svc.Patch(ctx, "org_a", v.CredentialID, credentials.Patch{ProxyLocation: credentials.Field[json.RawMessage]{Set: true}}); got.ProxyLocation != nil && string(got.ProxyLocation) != "null" {
		t.Fatalf("proxy location cleared: %s", got.ProxyLocation)
	}
	for want, p := range map[string]credentials.Patch{
		"":               {},
		"name":           {Name: field("  ")},
		"user_context":   {UserContext: field(strings.Repeat("u", 1001))},
		"proxy_location": {ProxyLocation: field(json.RawMessage(`{"country":1}`))},
		"tested_url":     {TestedURL: field("a\x00b")},
	} {
		if _, err := svc.Patch(ctx, "org_a", v.CredentialID, p); invalidField(err) != want {
			t.Errorf("patch for %q: %v", want, err)
		}
	}
	if _, err := svc.Patch(ctx, "org_b", v.CredentialID, credentials.Patch{Name: field("x")}); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("another organization's patch: %v", err)
	}
	if view, _ := svc.Get(ctx, "org_a", v.CredentialID); view.Name != "renamed" {
		t.Fatalf("get after patch: %q", view.Name)
	}
}

func TestNormalizeProxyLocation(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		`null`: "", ` "residential_gb" `: `"residential_gb"`, `{"country":"gb"}`: `"country":"GB"`,
	} {
		got, err := credentials.NormalizeProxyLocation(json.RawMessage(in))
		if err != nil || !strings.Contains(string(got), want) {
			t.Errorf("%s → %s %v, want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{`"has space"`, `12`, `{"country":"USA"}`, `{"city":"x"}`, `{"country":"US","x":1}`, `"`} {
		if _, err := credentials.NormalizeProxyLocation(json.RawMessage(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

// TestTOTPCodeAndMissingItems: an authenticator credential yields its
// current code; other credentials and bad seeds say why not; a row whose
// item reconcile found missing says so on read.
func TestTOTPCodeAndMissingItems(t *testing.T) {
	t.Parallel()
	svc, _, v := setup(t)
	ctx := t.Context()
	pw, err := svc.Create(ctx, "org_a", password("Bank", "JBSWY3DPEHPK3PXP"), credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	code, err := svc.TOTPCode(ctx, "org_a", pw.CredentialID)
	if err != nil || len(code.Code) != 6 || code.SecondsRemaining < 1 || code.SecondsRemaining > 30 {
		t.Fatalf("code: %+v %v", code, err)
	}
	sec, _ := svc.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{})
	if _, err := svc.TOTPCode(ctx, "org_a", sec.CredentialID); invalidField(err) != "credential" {
		t.Fatalf("a secret's code: %v", err)
	}
	if _, err := svc.TOTPCode(ctx, "org_a", "bad\x00id"); invalidField(err) != "credential_id" {
		t.Fatalf("a bad id: %v", err)
	}
	// The service now holds an unusable seed for it.
	v.mu.Lock()
	for ref, c := range v.items {
		if c.Password != nil {
			c.Password.TOTP = vault.NewSecret("!!")
			v.items[ref] = c
		}
	}
	v.mu.Unlock()
	if _, err := svc.TOTPCode(ctx, "org_a", pw.CredentialID); err == nil {
		t.Fatal("an unusable seed gave a code")
	}
	// The item disappears; reconcile --fix marks it; reads say so.
	v.mu.Lock()
	for ref := range v.items {
		delete(v.items, ref)
	}
	v.mu.Unlock()
	rep, err := svc.Maintenance().Reconcile(ctx, credentials.ReconcileOptions{Fix: true, OrganizationID: "org_a"})
	if err != nil || len(rep.Dangling) != 2 || rep.Marked != 2 || rep.Clean() {
		t.Fatalf("reconcile --fix: %+v %v", rep, err)
	}
	_, err = svc.GetWithSecret(ctx, "org_a", pw.CredentialID)
	var missing *credentials.ItemMissingError
	if !errors.As(err, &missing) || !errors.Is(err, vault.ErrItemGone) || !strings.Contains(err.Error(), "reconcile") {
		t.Fatalf("read of a missing item: %v", err)
	}
	if view, _ := svc.Get(ctx, "org_a", pw.CredentialID); view.ItemMissingAt == nil {
		t.Fatal("the view does not show the item missing")
	}
	// An update with the secret stores it again and clears the mark.
	if _, err := svc.Update(ctx, "org_a", pw.CredentialID, password("Bank", "JBSWY3DPEHPK3PXP"), credentials.Keep{}, credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	if view, _ := svc.Get(ctx, "org_a", pw.CredentialID); view.ItemMissingAt != nil {
		t.Fatal("the mark survived the update")
	}
}

// TestReconcileReportsStaleAndLostCreates: rows of an earlier
// configuration are stale; creates whose answer was lost are listed once
// old enough; the progress callback sees every row.
func TestReconcileReportsStaleAndLostCreates(t *testing.T) {
	t.Parallel()
	svc, st, v := setup(t)
	ctx := t.Context()
	if _, err := svc.Create(ctx, "org_a", secret("old", "v"), credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	v.mu.Lock()
	v.current = "cfg_2"
	v.mu.Unlock()
	v.afterStore = func(string) error { return &vault.TimeoutError{Op: "create", After: time.Second} }
	if _, err := svc.Create(ctx, "org_a", secret("lost", "v"), credentials.Patch{}); !errors.Is(err, vault.ErrTimeout) {
		t.Fatal(err)
	}
	v.afterStore = nil
	exec(t, st, "UPDATE vault_creates SET created_at = '2000-01-01 00:00:00+00:00'")
	seen := 0
	rep, err := svc.Maintenance().Reconcile(ctx, credentials.ReconcileOptions{Concurrency: 2, Rate: 1000, Progress: func(done, total int) { seen = done }})
	if err != nil || rep.Checked != 1 || seen != 1 || len(rep.Stale) != 1 || rep.Stale[0].Current != "cfg_2" || len(rep.LostCreates) != 1 || rep.Clean() {
		t.Fatalf("reconcile: %+v %v (progress %d)", rep, err, seen)
	}
	if dry, err := svc.Maintenance().Migrate(ctx, "org_a", credentials.MigrateOptions{DryRun: true}); err != nil || dry.ToMove != 1 || dry.BySource["cfg_1"] != 1 {
		t.Fatalf("dry run: %+v %v", dry, err)
	}
	if _, err := svc.Maintenance().Migrate(ctx, "org_a", credentials.MigrateOptions{}); invalidField(err) != "sources" {
		t.Fatalf("a migration naming no source: %v", err)
	}
	rep2, err := svc.Maintenance().Migrate(ctx, "org_a", credentials.MigrateOptions{From: map[string]bool{"cfg_9": true}})
	if err != nil || rep2.Migrated != 0 || rep2.Skipped["cfg_1"] != 1 {
		t.Fatalf("a migration from an unrelated source: %+v %v", rep2, err)
	}
	rep3, err := svc.Maintenance().Migrate(ctx, "org_a", credentials.MigrateOptions{From: map[string]bool{"cfg_1": true}})
	if err != nil || rep3.Migrated != 1 || rep3.Remaining != 0 {
		t.Fatalf("a proven migration: %+v %v", rep3, err)
	}
}

// TestFoldersLifecycle: create, get, list, update, file, unfile and
// delete folders, with every bad input named.
func TestFoldersLifecycle(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	ctx := t.Context()
	folders := svc.Folders()
	desc := "work"
	f, err := folders.Create(ctx, "org_a", "Banks", &desc)
	if err != nil || f.Title != "Banks" {
		t.Fatalf("create: %+v %v", f, err)
	}
	c, _ := svc.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{})
	if v, err := folders.Assign(ctx, "org_a", c.CredentialID, &f.FolderID); err != nil || v.FolderID == nil {
		t.Fatalf("assign: %+v %v", v, err)
	}
	if got, err := folders.Get(ctx, "org_a", f.FolderID); err != nil || got.CredentialCount != 1 {
		t.Fatalf("get: %+v %v", got, err)
	}
	if l, err := folders.List(ctx, "org_a", 1, 10, "ban"); err != nil || len(l) != 1 {
		t.Fatalf("list: %d %v", len(l), err)
	}
	title := "Accounts"
	if up, err := folders.Update(ctx, "org_a", f.FolderID, &title, nil); err != nil || up.Title != "Accounts" {
		t.Fatalf("update: %+v %v", up, err)
	}
	if v, err := folders.Assign(ctx, "org_a", c.CredentialID, nil); err != nil || v.FolderID != nil {
		t.Fatalf("unfile: %+v %v", v, err)
	}
	if err := folders.Delete(ctx, "org_a", f.FolderID); err != nil {
		t.Fatal(err)
	}
	if _, err := folders.Get(ctx, "org_a", f.FolderID); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("a deleted folder: %v", err)
	}
	if _, err := folders.Get(ctx, "org_b", "cfld_x"); !errors.Is(err, problem.ErrNotFound) {
		t.Fatalf("an unknown folder: %v", err)
	}
	long := strings.Repeat("d", 5000)
	blank := "  "
	for want, run := range map[string]func() error{
		"title":       func() error { _, err := folders.Create(ctx, "org_a", " ", nil); return err },
		"description": func() error { _, err := folders.Create(ctx, "org_a", "x", &long); return err },
		"folder_id":   func() error { _, err := folders.Get(ctx, "org_a", "a\x00"); return err },
		"page_size":   func() error { _, err := folders.List(ctx, "org_a", 1, 10_000, ""); return err },
		"title ":      func() error { _, err := folders.Update(ctx, "org_a", f.FolderID, &blank, nil); return err },
	} {
		if got := invalidField(run()); got != strings.TrimSpace(want) {
			t.Errorf("%s: %s", want, got)
		}
	}
}

// TestCacheInvalidationAndActor: a row served from the hot cache is
// dropped by Invalidate and Flush; the acting key lands in the audit
// trail; the outbox counts its attempts.
func TestCacheInvalidationAndActor(t *testing.T) {
	t.Parallel()
	svc, st, _ := setup(t)
	ctx := credentials.WithActor(t.Context(), "key_org_a")
	v, err := svc.Create(ctx, "org_a", secret("cached", "v"), credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetWithSecret(ctx, "org_a", v.CredentialID); err != nil {
		t.Fatal(err)
	}
	exec(t, st, "UPDATE credentials SET name = 'changed behind its back'")
	if got, _ := svc.GetWithSecret(ctx, "org_a", v.CredentialID); got.View.Name != "cached" {
		t.Fatalf("the hot read did not come from the cache: %q", got.View.Name)
	}
	svc.Invalidate("org_a/" + v.CredentialID)
	if got, _ := svc.GetWithSecret(ctx, "org_a", v.CredentialID); got.View.Name != "changed behind its back" {
		t.Fatalf("after Invalidate: %q", got.View.Name)
	}
	exec(t, st, "UPDATE credentials SET name = 'again'")
	svc.Flush()
	if got, _ := svc.GetWithSecret(ctx, "org_a", v.CredentialID); got.View.Name != "again" {
		t.Fatalf("after Flush: %q", got.View.Name)
	}
	events, _ := st.ListAuditEvents(ctx, "org_a")
	if len(events) == 0 || events[0].ActorKeyID != "key_org_a" {
		t.Fatalf("audit: %+v", events)
	}
	before := svc.Outbox().Attempts()
	if err := svc.Delete(ctx, "org_a", v.CredentialID); err != nil {
		t.Fatal(err)
	}
	if svc.Outbox().Attempts() != before+1 {
		t.Fatal("the delete's attempt was not counted")
	}
}

// TestUpdateKeepsCardFields: a card update that leaves out metadata,
// billing email and address sub-fields keeps them from the stored item.
func TestUpdateKeepsCardFields(t *testing.T) {
	t.Parallel()
	svc, _, _ := setup(t)
	ctx := t.Context()
	card := vault.Credential{Name: "Card", Type: vault.TypeCreditCard, CreditCard: &vault.CreditCard{
		CardHolderName: vault.NewSecret("Alice"), CardNumber: vault.NewSecret("4242424242424242"), ExpMonth: vault.NewSecret("12"),
		ExpYear: vault.NewSecret("2031"), CVV: vault.NewSecret("123"), Brand: "Visa", BillingEmail: vault.NewSecret("b@example.com"),
		BillingAddress: &vault.BillingAddress{Line1: vault.NewSecret("1 Main St"), City: vault.NewSecret("Springfield")},
		Metadata:       vault.Metadata{"cost": "42"}}}
	v, err := svc.Create(ctx, "org_a", card, credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	upd := card
	cc := *card.CreditCard
	cc.CVV, cc.Metadata, cc.BillingEmail = vault.NewSecret("999"), nil, vault.Secret{}
	cc.BillingAddress = &vault.BillingAddress{Line1: vault.NewSecret("2 High St")}
	upd.CreditCard = &cc
	keep := credentials.Keep{Metadata: true, BillingEmail: true, AddressFields: []string{"city"}}
	if _, err := svc.Update(ctx, "org_a", v.CredentialID, upd, keep, credentials.Patch{}); err != nil {
		t.Fatal(err)
	}
	got, _ := svc.GetWithSecret(ctx, "org_a", v.CredentialID)
	c := got.Credential.CreditCard
	if c.CVV.Reveal() != "999" || c.Metadata["cost"] != "42" || c.BillingEmail.Reveal() != "b@example.com" ||
		c.BillingAddress.Line1.Reveal() != "2 High St" || c.BillingAddress.City.Reveal() != "Springfield" {
		t.Fatal("the update did not keep what the form left out")
	}
}

// TestCreatesOfAStoppedProcessAreRecovered: a process recorded a create,
// the service stored its item, and the process died before writing the
// row. Once the lease ends, another process's worker takes the record
// over, finds the item through the Idempotency-Key and deletes it — no
// orphan, no operator. A create still within its lease is left alone,
// and reconcile shows it in flight with its age.
func TestCreatesOfAStoppedProcessAreRecovered(t *testing.T) {
	t.Parallel()
	svc, st, v := setup(t)
	ctx := t.Context()
	// The dead process's create: recorded, and stored by the service.
	lease := st.Now().Add(time.Minute)
	dead := store.CreateAttempt{ID: "cred_dead", OrganizationID: "org_a", CredentialID: "cred_dead", VaultSource: "cfg_1",
		Operation: "create", Owner: "proc_dead", LeaseUntil: &lease}
	if err := st.RecordCreate(ctx, dead); err != nil {
		t.Fatal(err)
	}
	if _, err := v.CreateAt(vault.WithIdempotencyKey(ctx, dead.ID), "org_a", "cfg_1", secret("orphan", "v")); err != nil {
		t.Fatal(err)
	}
	if n := svc.Maintenance().RecoverCreates(ctx); n != 0 || v.count() != 1 {
		t.Fatalf("a create within its lease was taken (%d), items %d", n, v.count())
	}
	rep, err := svc.Maintenance().Reconcile(ctx, credentials.ReconcileOptions{})
	if err != nil || len(rep.InFlight) != 1 || rep.InFlight[0].IdempotencyKey != dead.ID {
		t.Fatalf("reconcile during the lease: %+v %v", rep.InFlight, err)
	}
	exec(t, st, "UPDATE vault_creates SET lease_until = '2000-01-01 00:00:00+00:00'")
	if n := svc.Maintenance().RecoverCreates(ctx); n != 1 {
		t.Fatalf("recovered %d creates, want 1", n)
	}
	if v.count() != 0 {
		t.Fatalf("the orphan survives: %d items", v.count())
	}
	if cs, _ := st.ListCreates(ctx, "", time.Now().Add(time.Hour), 10); len(cs) != 0 {
		t.Fatalf("the recovered create stays recorded: %+v", cs)
	}
	// An item a row points to is kept: the create finished after all.
	view, err := svc.Create(ctx, "org_a", secret("kept", "v"), credentials.Patch{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.RecordCreate(ctx, store.CreateAttempt{ID: view.CredentialID, OrganizationID: "org_a", CredentialID: view.CredentialID,
		VaultSource: "cfg_1", Operation: "create", Owner: "proc_dead"}); err != nil {
		t.Fatal(err)
	}
	if n := svc.Maintenance().RecoverCreates(ctx); n != 1 || v.count() != 1 {
		t.Fatalf("recovery of a create whose row exists: %d taken, %d items", n, v.count())
	}
	if got, err := svc.GetWithSecret(ctx, "org_a", view.CredentialID); err != nil || got.Credential.Secret.Value.Reveal() != "v" {
		t.Fatalf("the credential lost its secret: %v", err)
	}
}

// TestOutboxLogsAnOutageOnce: while the database is out, the worker's
// failed ticks are logged once (then at most once a minute), and its
// recovery once; a delayed deletion that succeeds at last is logged.
func TestOutboxLogsAnOutageOnce(t *testing.T) {
	t.Parallel()
	_, st, v := setup(t)
	var logs syncBuffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	healthy := credentials.New(credentials.Store(st), v, log)
	ctx := t.Context()
	view, _ := healthy.Create(ctx, "org_a", secret("s", "v"), credentials.Patch{})
	v.failDelete = &vault.UpstreamError{Op: "delete", StatusCode: 503}
	if err := healthy.Delete(ctx, "org_a", view.CredentialID); err != nil {
		t.Fatal(err)
	}
	v.failDelete = nil
	dueNow(t, st)
	healthy.Outbox().RunOnce(ctx)
	if !strings.Contains(logs.String(), "a delayed vault item deletion succeeded") {
		t.Fatalf("the delayed deletion's success was not logged: %s", logs.String())
	}
	down := credentials.New(claimOutage{credentials.Store(st)}, v, log)
	for range 5 {
		down.Outbox().RunOnce(ctx)
	}
	if n := strings.Count(logs.String(), "could not claim deletions"); n != 1 {
		t.Fatalf("the outage was logged %d times, want once", n)
	}
	if !strings.Contains(logs.String(), `"failed_ticks":1`) {
		t.Fatalf("no count of failed ticks: %s", logs.String())
	}
}

// claimOutage is a Storage whose outbox cannot be claimed.
type claimOutage struct{ credentials.Storage }

func (claimOutage) ClaimDeletions(context.Context, int, time.Duration) ([]store.VaultDeletion, error) {
	return nil, store.ErrUnavailable
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
